package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"golang.org/x/sys/unix"
)

// isoDiskDir is where the disk (or partition) that holds sandbox.iso's ISO
// file is mounted, read-only. It is under /run, so it moves into the
// booted system with /run at switch_root, where the stick stays readable.
const isoDiskDir = "/run/sandbox/isodisk"

// isoDiskFS are the file systems an ISO file is looked for on.
var isoDiskFS = []string{"ext4", "vfat", "exfat"}

// mountISOFile is sandbox.iso's "iso" step, in the CD's place: it finds the
// disk that holds the ISO file (by label, UUID, /dev path, or by looking on
// every disk and partition), mounts it read-only on isoDiskDir,
// loop-attaches the ISO file read-only and mounts it as the CD on cdDir.
// The image step then goes on as from a CD.
func (s *sandbox) mountISOFile() error {
	want, file := s.cfg.ISOFile()
	for _, d := range []string{cdDir, isoDiskDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return &bootError{Device: d, Err: err}
		}
	}
	looks := map[string]*isoLook{} // by device
	var order []string             // the devices in the order looked at
	var found *isoLook
	pick := func() (bool, error) {
		devs := []string{want}
		if !strings.HasPrefix(want, "/dev/") {
			devs = isoDiskCandidates("/sys/class/block")
		}
		for _, dev := range devs {
			l := looks[dev]
			if l != nil && l.done {
				continue
			}
			if !isBlock(dev) {
				continue // not there yet, or no medium
			}
			if l == nil {
				l = &isoLook{dev: dev}
				looks[dev] = l
				order = append(order, dev)
			}
			v, err := probeVolume(dev)
			if err != nil {
				l.why = err.Error() // a read error: looked at again
				continue
			}
			l.vol, l.done = v, true
			if !v.matches(want) || v.FS == "" && want == "" {
				continue // not the one named, or nothing to mount
			}
			ok, err := s.tryISODisk(l, file)
			if err != nil {
				return false, err
			}
			if ok {
				found = l
				return true, nil
			}
		}
		return false, nil
	}

	start := time.Now()
	if err := waitDevice(s.driversReady(), s.cfg.Wait, pick); err != nil {
		var be *bootError
		if errors.As(err, &be) {
			return err
		}
		if err != errTimeout {
			return &bootError{Device: s.cfg.ISO, Err: err}
		}
		seen := make([]*isoLook, 0, len(order))
		for _, d := range order {
			seen = append(seen, looks[d])
		}
		why, hint := isoNotFound(want, file, seen)
		err, hint := s.whyMissing(fmt.Errorf("%s within %v", why, s.cfg.Wait), hint)
		return &bootError{Device: s.cfg.ISO, Err: err, Hint: hint}
	}
	if err := s.attachISO(found, file); err != nil {
		return err
	}
	s.log.Printf("ISO file %s found on %s (%s) after %v; attached to %s, mounted read-only",
		file, found.dev, found.vol, time.Since(start).Round(time.Millisecond), s.state.ISOLoop)
	return nil
}

// isoLook is what the ISO file's search saw on one device.
type isoLook struct {
	dev  string
	vol  volume
	done bool   // read: not looked at again
	why  string // why the ISO file is not taken from it, if it was tried
}

// describe names the device with its file system, label and UUID.
func (l *isoLook) describe() string {
	if !l.done {
		return fmt.Sprintf("%s (unreadable: %s)", l.dev, l.why)
	}
	return fmt.Sprintf("%s (%s)", l.dev, l.vol)
}

// tryISODisk mounts the device read-only on isoDiskDir and looks for the
// ISO file there. It returns true with the disk mounted when the file is
// there; false, unmounted and l.why set when not. An error ends the search:
// a device named by sandbox.iso (path, label or UUID) that cannot be used.
func (s *sandbox) tryISODisk(l *isoLook, file string) (bool, error) {
	want, _ := s.cfg.ISOFile()
	named := want != ""
	fail := func(err error, hint string) (bool, error) {
		if named {
			return false, &bootError{Device: l.dev + ":" + file, Err: err, Hint: hint}
		}
		l.why = err.Error()
		return false, nil
	}
	if l.vol.FS == "" {
		return fail(fmt.Errorf("%s holds no %s file system", l.dev, strings.Join(isoDiskFS, ", ")),
			"name the partition that holds the ISO file (/dev/sdb1:/path, LABEL=, UUID=); lsblk -f or blkid on another machine shows them")
	}
	if err := s.haveFS(l.vol.FS); err != nil {
		return fail(err, fmt.Sprintf("rebuild the initramfs with 'mklive initramfs -modules %s' (mklive adds vfat, exfat and their code pages when sandbox.iso is set)", l.vol.FS))
	}
	wasRO := blockRO(l.dev)
	if !wasRO {
		// Nothing writes to the medium: not even a journal replay or an
		// orphan cleanup, which ext4 does on a read-only mount.
		if err := mountutil.SetReadOnly(l.dev); err != nil {
			return fail(err, "sandbox.iso= must name a block device")
		}
	}
	err := mountDisk(l.dev, l.vol.FS)
	if err != nil {
		if !wasRO {
			setBlockRW(l.dev)
		}
		return fail(err, "the file system is damaged (dmesg says why): check it on another machine")
	}
	p := filepath.Join(isoDiskDir, file)
	st, err := os.Stat(p)
	if err == nil && st.Mode().IsRegular() {
		return true, nil
	}
	if err == nil {
		err = errors.New("not a regular file")
	}
	listing := listNear(isoDiskDir, file)
	_ = unix.Unmount(isoDiskDir, 0)
	if !wasRO {
		setBlockRW(l.dev) // not the one: the booted system may write to it
	}
	err = fmt.Errorf("no %s: %w", file, unwrapPath(err))
	if named {
		// The disk named holds no such file: no other will.
		err = fmt.Errorf("%s: %w", l.describe(), err)
	}
	return fail(err, fmt.Sprintf("check the path (ext4 names are case-sensitive); %s has: %s", l.dev, listing))
}

// attachISO loop-attaches the ISO file on the mounted disk, read-only, and
// mounts it as the CD on cdDir.
func (s *sandbox) attachISO(l *isoLook, file string) error {
	where := l.dev + ":" + file
	if err := s.need("loop"); err != nil {
		return err
	}
	loop, err := mountutil.LoopAttach(filepath.Join(isoDiskDir, file))
	if err != nil {
		return &bootError{Device: where, Err: err, Hint: "the loop module must be in the initramfs; the ISO file must be a whole Live CD image"}
	}
	if err := s.need("isofs"); err != nil {
		loop.Close()
		return err
	}
	if err := unix.Mount(loop.Path, cdDir, "iso9660", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil {
		loop.Close() // autoclear: the loop device goes
		return &bootError{Device: where, Err: fmt.Errorf("%s is not an ISO 9660 image: mount %s on %s (iso9660, read-only): %w", file, loop.Path, cdDir, err),
			Hint: fmt.Sprintf("sandbox.iso= must name a Live CD's .iso file; the disk is mounted read-only on %s: look at it in the rescue shell", isoDiskDir)}
	}
	s.hold = append(s.hold, loop) // the mount holds it now too; autoclear after both
	s.state.CD = where
	s.state.ISODisk, s.state.ISOLoop = l.dev, loop.Path
	return nil
}

// haveFS makes sure the kernel can mount fstype, loading its module (by
// the fs-TYPE alias) from the initramfs, and vfat's code pages.
func (s *sandbox) haveFS(fstype string) error {
	if fstype == "vfat" && s.mods != nil {
		// vfat's default codepage (437) and the charset it is mounted
		// with (mountDisk): the kernel cannot load them itself here.
		var cps []string
		for _, m := range []string{"nls_cp437", "nls_iso8859_1", "nls_utf8"} {
			if _, err := s.mods.l.Deps.Closure(m); err == nil {
				cps = append(cps, m)
			}
		}
		if err := s.mods.l.Wait(cps...); err != nil {
			return err
		}
	}
	if _, err := s.fsModule(fstype); err != nil {
		rel, _ := kmod.Release()
		return fmt.Errorf("kernel %s cannot mount %s: %w", rel, fstype, err)
	}
	return nil
}

// mountDisk mounts a disk read-only on isoDiskDir. vfat is mounted with
// UTF-8 names and ISO 8859-1 case folding, whose tables the initramfs has
// (the kernel's default, iocharset=ascii, is a module it lacks), then with
// the kernel's defaults; ext4 with a journal to replay (which a read-only
// device refuses) without the replay.
func mountDisk(dev, fstype string) error {
	opts := map[string][]string{
		"vfat": {"utf8,iocharset=iso8859-1", ""},
		"ext4": {"", "noload"},
	}[fstype]
	if opts == nil {
		opts = []string{""}
	}
	var errs []error
	for _, o := range opts {
		err := unix.Mount(dev, isoDiskDir, fstype, unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, o)
		if err == nil {
			return nil
		}
		with := ""
		if o != "" {
			with = ", " + o
		}
		errs = append(errs, fmt.Errorf("mount %s on %s (%s, read-only%s): %w", dev, isoDiskDir, fstype, with, err))
	}
	return errors.Join(errs...)
}

// blockRO reads a block device's read-only flag (BLKROGET).
func blockRO(dev string) bool {
	f, err := os.Open(dev)
	if err != nil {
		return false
	}
	defer f.Close()
	ro, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKROGET)
	return err == nil && ro != 0
}

// setBlockRW clears the read-only flag set on a disk that turned out not
// to hold the ISO file.
func setBlockRW(dev string) {
	if f, err := os.Open(dev); err == nil {
		_ = unix.IoctlSetPointerInt(int(f.Fd()), unix.BLKROSET, 0)
		f.Close()
	}
}

// probeVolume reads a device's file system, label and UUID from its
// superblock (readVolume), and for FAT and exFAT the label in the root
// directory. It only reads.
func probeVolume(dev string) (volume, error) {
	f, err := os.Open(dev)
	if err != nil {
		return volume{}, err
	}
	defer f.Close()
	b := make([]byte, mountutil.FSProbeBytes)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return volume{}, fmt.Errorf("read %s: %w", dev, err)
	}
	v := readVolume(b[:n])
	if v.dirLen > 0 {
		dir := make([]byte, v.dirLen)
		if n, _ := f.ReadAt(dir, v.dirOff); n > 0 {
			if label, ok := dirLabel(v.FS, dir[:n]); ok {
				v.Label = label
			}
		}
	}
	return v, nil
}

// isoDiskCandidates lists the devices an ISO file may be on, as /dev
// paths: every disk and partition of sysfs's class/block directory, but CD
// drives (sr*: their discs are CDs, not disks holding ISO files), RAM
// disks, loop and device-mapper devices, and an MMC card's boot and RPMB
// areas.
func isoDiskCandidates(classBlock string) []string {
	ents, _ := os.ReadDir(classBlock)
	var out []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, "sr"), strings.HasPrefix(n, "loop"), strings.HasPrefix(n, "ram"), strings.HasPrefix(n, "zram"),
			strings.HasPrefix(n, "dm-"), strings.HasPrefix(n, "md"),
			strings.HasPrefix(n, "mmcblk") && (strings.Contains(n, "boot") || strings.HasSuffix(n, "rpmb")):
		default:
			out = append(out, "/dev/"+n)
		}
	}
	sort.Strings(out) // a disk before its partitions
	return out
}

// isoNotFound says why the ISO file's search found nothing within the
// wait, and what to do: want is the device part of sandbox.iso ("" for
// every disk), seen what was looked at.
func isoNotFound(want, file string, seen []*isoLook) (why, hint string) {
	var list []string
	example := "/dev/sdb1" // for the hint: a partition seen, if any
	for i := len(seen) - 1; i >= 0; i-- {
		if seen[i].vol.FS != "" {
			example = seen[i].dev
		}
	}
	for _, l := range seen {
		d := l.describe()
		if l.done && l.why != "" && (want == "" || l.vol.matches(want)) {
			d += ": " + l.why
		}
		list = append(list, d)
	}
	looked := strings.Join(list, "; ")
	switch {
	case strings.HasPrefix(want, "/dev/") && len(seen) > 0:
		return seen[0].describe(), "check the disk (dmesg says why it cannot be read), or name another partition"
	case strings.HasPrefix(want, "/dev/"):
		return fmt.Sprintf("%s did not appear", want),
			"check the device name (ls /sys/class/block lists what there is), or wait longer with sandbox.wait=30"
	case len(seen) == 0:
		return "no disk appeared",
			"attach the disk or stick that holds the ISO file, or add its driver to the initramfs (mklive -modules); a slow stick: sandbox.wait=30"
	case want != "":
		return fmt.Sprintf("no file system with %s among %s", want, looked),
			"fix " + want + " in sandbox.iso= (labels and UUIDs as blkid shows them), or name the partition: sandbox.iso=" + example + ":" + file
	default:
		return fmt.Sprintf("%s is on none of the disks: %s", file, looked),
			"check the path (ext4 names are case-sensitive); in the rescue shell: mount -o ro " + example + " /mnt && ls -R /mnt; or wait longer with sandbox.wait=30"
	}
}

// listNear lists the directory of file under root (as paths on the
// disk), or root's top when that directory is missing.
func listNear(root, file string) string {
	dir := filepath.Dir(file)
	ents, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil {
		return listDir(root)
	}
	var names []string
	for i, e := range ents {
		if i == 20 {
			names = append(names, "…")
			break
		}
		names = append(names, filepath.Join(dir, e.Name()))
	}
	if len(names) == 0 {
		return dir + " is empty"
	}
	return strings.Join(names, " ")
}

// unwrapPath drops the path from an *os.PathError: the message names the
// file already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
