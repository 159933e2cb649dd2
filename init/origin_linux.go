package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"golang.org/x/sys/unix"
)

// cdDir is where the CD is mounted in the initramfs; it moves under the new
// root later.
const cdDir = "/cd"

// useOrigin takes the block device sandbox.origin names as the snapshot's
// origin (the how-to's /dev/sda1), set read-only in the kernel.
func (s *sandbox) useOrigin() error {
	dev := s.cfg.Origin
	if err := waitDrivers(s.driverWait(), s.cfg.Wait, func() (bool, error) { return isBlock(dev), nil }); err != nil {
		err, hint := s.whyMissing(fmt.Errorf("device did not appear within %v", s.cfg.Wait),
			"check the disk is attached and its driver is in the initramfs; wait longer with sandbox.wait=")
		return &bootError{Device: dev, Err: err, Hint: hint}
	}
	if err := mountutil.SetReadOnly(dev); err != nil {
		return &bootError{Device: dev, Err: err, Hint: "sandbox.origin= must name a block device"}
	}
	s.log.Printf("origin %s set read-only (BLKROSET)", dev)
	s.state.Origin = dev
	return nil
}

// mountCD finds the CD and mounts it read-only on cdDir (the how-to's
// Live CD).
func (s *sandbox) mountCD() error {
	cd, err := s.findCD()
	if err != nil {
		return err
	}
	s.state.CD = cd
	return nil
}

// attachImage loop-attaches the root image file on the CD, read-only: the
// snapshot's origin.
func (s *sandbox) attachImage() error {
	if err := s.need("loop"); err != nil {
		return err
	}
	cd := s.state.CD
	image := filepath.Join(cdDir, s.cfg.Image)
	if s.imageFile != "" {
		image = s.imageFile
	}
	st, err := os.Stat(image)
	if err != nil {
		return &bootError{Device: cd, Err: fmt.Errorf("no %s on the CD: %w", s.cfg.Image, err), Hint: fmt.Sprintf("the CD has: %s; set sandbox.image= to the root image's path", listDir(cdDir))}
	}
	if !st.Mode().IsRegular() {
		return &bootError{Device: cd, Err: fmt.Errorf("%s on the CD is not a regular file", s.cfg.Image), Hint: "set sandbox.image= to the root image file"}
	}
	container := isSquashfs(image)
	loop, err := mountutil.LoopAttach(image)
	if err != nil {
		return &bootError{Device: s.cfg.Image, Err: err, Hint: "loop needs the loop module; the image must be a file of at least 1 KiB"}
	}
	s.hold = append(s.hold, loop)
	dev := loop.Path
	s.noteVerityOff()
	if s.cfg.Verity != "" {
		if dev, err = s.verifyImage(image, s.cfg.Image, loop); err != nil {
			return err
		}
		s.notePersistentUnverified()
	}
	if container {
		return s.attachContainer(dev, loop.Path)
	}
	s.state.Loop = loop.Path
	s.state.Origin = dev
	s.log.Printf("%s%s attached read-only to %s", s.mediumSaid(), s.cfg.Image, loop.Path)
	return nil
}

// findCD waits, at most sandbox.wait, for the CD and mounts it read-only on
// cdDir. Each candidate is identified before any mount, from its primary
// volume descriptor (sector 16): "auto" takes the first sr* device holding
// an ISO 9660 file system, then the legacy hd? names, then whole disks;
// LABEL=X takes the first whose volume id is X; UUID=U the one disc whose
// UUID (its volume date, unique per mklive build) is U, decided only once
// the drivers are ready and every candidate has been looked at: two discs
// with that UUID are a failure, not a race won by the faster bus. A disc
// with another UUID is skipped with a warning.
func (s *sandbox) findCD() (string, error) {
	if err := os.MkdirAll(cdDir, 0o755); err != nil {
		return "", &bootError{Device: cdDir, Err: err}
	}
	c := &cdSearch{s: s, want: s.cfg.CD, warned: map[string]bool{}}
	c.uuid, c.byUUID = strings.CutPrefix(c.want, "UUID=")
	c.label, c.byLabel = strings.CutPrefix(c.want, "LABEL=")
	start := time.Now()
	err := waitDrivers(s.driverWait(), s.cfg.Wait, c.look)
	if err == errTimeout && len(c.match) > 0 && c.bootLabelled(c.match, c.pvds) {
		err = nil // drivers still loading (a probe that hangs): boot the disc found
	}
	if err != nil {
		if err == c.isofsErr {
			return "", err
		}
		if err == c.twice {
			return "", &bootError{Device: s.cfg.CD, Err: err, Hint: "an older build or another disc carries the same UUID: take it out, or name the drive with sandbox.cd=/dev/sr0"}
		}
		why, hint := cdNotFound(c.want, strings.HasPrefix(c.want, "/dev/") && isBlock(c.want), c.seen, c.mountErr)
		err, hint := s.whyMissing(fmt.Errorf("%s within %v", why, s.cfg.Wait), hint)
		return "", &bootError{Device: s.cfg.CD, Err: err, Hint: hint}
	}
	s.log.Printf("CD found: %s (sandbox.cd=%s) after %v", c.want, s.cfg.CD, time.Since(start).Round(time.Millisecond))
	return c.want, nil
}

// cdCandidates lists where a Live CD may be, as /dev paths, from the
// block devices in sysfs's class/block directory: CD drives (sr*, then the
// legacy hd? names), then whole disks, where a Live CD image written to a
// USB stick or attached as a disk holds the same ISO 9660 file system. RAM
// disks, loop and device-mapper devices, partitions and an MMC card's
// boot and RPMB areas are not candidates.
func cdCandidates(classBlock string) []string {
	ents, _ := os.ReadDir(classBlock)
	var sr, hd, disks []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, "sr"):
			sr = append(sr, "/dev/"+n)
		case len(n) == 3 && strings.HasPrefix(n, "hd"):
			hd = append(hd, "/dev/"+n)
		case strings.HasPrefix(n, "loop"), strings.HasPrefix(n, "ram"), strings.HasPrefix(n, "zram"),
			strings.HasPrefix(n, "dm-"), strings.HasPrefix(n, "md"),
			strings.HasPrefix(n, "mmcblk") && (strings.Contains(n, "boot") || strings.HasSuffix(n, "rpmb")):
		default:
			if _, err := os.Stat(filepath.Join(classBlock, n, "partition")); err != nil {
				disks = append(disks, "/dev/"+n)
			}
		}
	}
	sort.Strings(sr)
	sort.Strings(hd)
	sort.Strings(disks)
	return append(append(sr, hd...), disks...)
}

// readPVD reads a device's ISO 9660 primary volume descriptor without
// mounting it: it tells a disc from an empty drive or another file system,
// and gives the label and UUID. On a multi-session disc it is the last
// session's, the one isofs mounts (findPVD, lastSession).
func readPVD(dev string) (isoPVD, bool) {
	f, err := os.Open(dev)
	if err != nil {
		return isoPVD{}, false
	}
	defer f.Close()
	return findPVD(func(sector int64) ([]byte, error) {
		b := make([]byte, isoSectorSize)
		_, err := f.ReadAt(b, sector*isoSectorSize)
		return b, err
	}, lastSession(multiSession(f)))
}

// multiSession asks a CD drive where the disc's last session starts
// (CDROMMULTISESSION, in LBA form), and whether the disc is an XA
// multi-session one; ok is false where the ioctl does not work (a disk).
func multiSession(f *os.File) (lba int32, xa, ok bool) {
	const cdromMultisession, cdromLBA = 0x5310, 0x01 // linux/cdrom.h
	// struct cdrom_multisession: union cdrom_addr addr (an int lba);
	// __u8 xa_flag; __u8 addr_format; padded to 8 bytes.
	var ms [8]byte
	ms[5] = cdromLBA
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), cdromMultisession, uintptr(unsafe.Pointer(&ms[0])))
	if errno != 0 {
		return 0, false, false
	}
	return int32(binary.NativeEndian.Uint32(ms[0:4])), ms[4] != 0, true
}

// isBlock reports whether dev is a block device that can be opened: the
// node can appear (devtmpfs) before the disk answers (ENXIO).
func isBlock(dev string) bool {
	var st unix.Stat_t
	if unix.Stat(dev, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return false
	}
	fd, err := unix.Open(dev, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

var errTimeout = errors.New("timed out")

// recheck bounds the time between two looks when no uevent comes: a CD
// drive's disc may become readable without one.
const recheck = 25 * time.Millisecond

// waitDevice calls ok until it says true: at once, whenever the kernel
// announces a device (uevents), and every recheck. It gives up when d has
// passed since the drivers finished loading (ready): a device cannot appear
// before its driver, and the drivers load while we already look.
func waitDevice(ready <-chan struct{}, d time.Duration, ok func() (bool, error)) error {
	return waitDrivers(driverWait{ready: ready}, d, ok)
}

// whyMissing adds to a "did not appear" error what the machine's storage
// hardware tells: the drivers at work, the devices no driver took, and
// drivers that failed to load. Devices without a driver get the hint.
func (s *sandbox) whyMissing(err error, hint string) (error, string) {
	working, missing := hardwareReport(storageHardware("/sys"))
	errs := []error{err, errors.New(working)}
	var pending []string
	if s.mods != nil {
		pending = s.mods.pendingDrivers()
	}
	switch {
	case len(pending) > 0:
		// A controller whose driver still loads has no driver bound yet:
		// it is not one the initramfs lacks.
		errs = append(errs, fmt.Errorf("drivers still loading, none done for %v: %s (a probe that never ends?)",
			time.Since(s.mods.progress()).Round(time.Millisecond), strings.Join(pending, " ")))
		hint = hangHint(pending)
	case missing != "":
		errs = append(errs, errors.New(missing))
		rel, _ := kmod.Release()
		hint = missingDriverHint(rel)
	}
	if s.mods != nil {
		if merr := s.mods.l.Failed(); merr != nil {
			errs = append(errs, merr) // a driver that failed explains a missing drive
		}
	}
	return errors.Join(errs...), hint
}

func listDir(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	var names []string
	for i, e := range ents {
		if i == 20 {
			names = append(names, "…")
			break
		}
		names = append(names, "/"+e.Name())
	}
	if len(names) == 0 {
		return "(nothing)"
	}
	return strings.Join(names, " ")
}

// mediumSaid is how the image step's line names the medium the image came
// from: the CD mounted read-only, or, for a network boot (no CD), the
// download into RAM.
func (s *sandbox) mediumSaid() string {
	if s.state.NBD != nil {
		return fmt.Sprintf("the image read on demand from %s (%s); ", s.state.NBD.URL, s.state.NBD.Device)
	}
	if s.state.CD == "" && s.cfg.URL != "" {
		return "the image fetched into RAM (sandbox.url); "
	}
	return fmt.Sprintf("CD %s mounted read-only; ", s.state.CD)
}
