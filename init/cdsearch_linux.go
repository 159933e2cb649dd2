package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cdSearch is one search for the CD (findCD): what sandbox.cd asks for,
// and what the looks so far found.
type cdSearch struct {
	s           *sandbox
	want        string // sandbox.cd; the device found, once found
	uuid, label string
	byUUID      bool
	byLabel     bool
	seen        []string // the candidates of the last look
	warned      map[string]bool
	isofsReady  bool
	isofsErr    error // isofs did not load
	mountErr    error // the last mount attempt's
	twice       error // two discs match the UUID
	// match and pvds are the discs with the label of the last look, kept
	// for when the drivers never get ready (a probe that hangs).
	match []string
	pvds  []isoPVD
}

// try mounts dev read-only on cdDir as ISO 9660.
func (c *cdSearch) try(dev string) bool {
	if !c.isofsReady {
		// Only now: waiting earlier would start isofs at full priority
		// while the drive's own drivers still load.
		if c.isofsErr = c.s.need("isofs"); c.isofsErr != nil {
			return false
		}
		c.isofsReady = true
	}
	err := unix.Mount(dev, cdDir, "iso9660", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, "")
	if err != nil {
		c.mountErr = fmt.Errorf("mount %s on %s (iso9660, read-only): %w", dev, cdDir, err)
		return false
	}
	return true
}

// look is one look at every candidate (waitDevice's check): each is
// identified by its volume descriptor before any mount, and only the disc
// sandbox.cd names is mounted.
func (c *cdSearch) look() (bool, error) {
	if c.isofsErr != nil {
		return false, c.isofsErr
	}
	if strings.HasPrefix(c.want, "/dev/") {
		return isBlock(c.want) && c.try(c.want), nil
	}
	// Ready before the look: a look that began after the drivers were
	// ready has seen every disc there is.
	ready := false
	select {
	case <-c.s.driversReady():
		ready = true
	default:
	}
	c.seen = cdCandidates("/sys/class/block")
	var match []string
	var pvds []isoPVD
	for _, dev := range c.seen {
		p, ok := readPVD(dev)
		switch {
		case !ok:
			continue // no ISO 9660 disc (yet): never mounted
		case c.byUUID && p.UUID == c.uuid, c.byLabel && p.Label == c.label:
			match, pvds = append(match, dev), append(pvds, p)
		case c.byUUID:
			if !c.warned[dev] {
				c.warned[dev] = true
				c.s.log.Warnf("WARNING: skipping %s: ISO 9660 disc %s is not the Live CD this kernel was built with (sandbox.cd=%s)", dev, describeDisc(p), c.s.cfg.CD)
			}
		case c.byLabel:
		default:
			if c.try(dev) {
				c.want = dev
				return true, nil
			}
		}
	}
	switch {
	case len(match) > 1 && c.byUUID:
		c.twice = fmt.Errorf("two discs match sandbox.cd=%s: %s; remove one", c.s.cfg.CD, strings.Join(match, " and "))
		return false, c.twice
	case len(match) > 0 && ready:
		return c.bootLabelled(match, pvds), nil
	}
	c.match, c.pvds = match, pvds
	return false, nil
}

// bootLabelled mounts the first of the discs that carry the label. A label
// is not an identity: of several discs that carry it, the first in the
// search's order boots (CD drives first), and the others are named.
func (c *cdSearch) bootLabelled(match []string, pvds []isoPVD) bool {
	if !c.try(match[0]) {
		return false
	}
	c.want = match[0]
	for i := 1; i < len(match); i++ {
		c.s.log.Warnf("WARNING: %s also carries the label %q: %s %s booted, %s %s did not; to choose, use sandbox.cd=UUID=<UUID> or sandbox.cd=/dev/…",
			match[i], c.label, match[0], describeDisc(pvds[0]), match[i], describeDisc(pvds[i]))
	}
	return true
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
func findCD(s *sandbox) (string, error) {
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
