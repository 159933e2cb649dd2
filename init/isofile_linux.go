package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
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

// isoProbeDir is where a disk is mounted, read-only, to see whether it
// holds the ISO file too once another one does (isoSearch.alsoHolds).
const isoProbeDir = "/run/sandbox/isoprobe"

// mountISOFile is sandbox.iso's "iso" step, in the CD's place: it finds the
// disk that holds the ISO file (by label, UUID, /dev path, or by looking on
// every disk and partition), mounts it read-only on isoDiskDir,
// loop-attaches the ISO file read-only and mounts it as the CD on cdDir.
// The image step then goes on as from a CD. As the CD search does, it
// waits for every disk driver before it boots from a disk it did not name
// by its /dev path, and names the other disks that hold the file too.
func mountISOFile(s *sandbox) error {
	want, file := s.cfg.ISO.Dev, s.cfg.ISO.File
	for _, d := range []string{cdDir, isoDiskDir, isoProbeDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return &bootError{Device: d, Err: err}
		}
	}
	q := &isoSearch{s: s, want: want, file: file, looks: map[string]*isoLook{}}
	start := time.Now()
	err := waitDrivers(s.driverWait(), s.cfg.Wait, q.pick)
	_ = os.Remove(isoProbeDir)
	if err == errTimeout && q.found != nil {
		err = nil // drivers still loading (whyMissing would name them): boot what was found
	}
	if err != nil {
		var be *bootError
		if errors.As(err, &be) {
			return err
		}
		if err != errTimeout {
			return &bootError{Device: s.cfg.ISO.String(), Err: err}
		}
		seen := make([]*isoLook, 0, len(q.order))
		for _, d := range q.order {
			seen = append(seen, q.looks[d])
		}
		why, hint := isoNotFound(want, file, seen)
		err, hint := s.whyMissing(fmt.Errorf("%s within %v", why, s.cfg.Wait), hint)
		return &bootError{Device: s.cfg.ISO.String(), Err: err, Hint: hint}
	}
	if err := attachISO(s, q.found, file); err != nil {
		return err
	}
	s.log.Printf("ISO file %s found on %s (%s) after %v; attached to %s, mounted read-only",
		file, q.found.dev, q.found.vol, time.Since(start).Round(time.Millisecond), s.state.ISOLoop)
	for _, o := range q.others {
		s.log.Warnf("WARNING: %s (%s) also holds %s: the one on %s (%s) booted; to choose, use sandbox.iso=UUID=<UUID>:%s or sandbox.iso=/dev/…:%s",
			o.dev, o.vol, file, q.found.dev, q.found.vol, file, file)
	}
	return nil
}

// isoSearch is one search for sandbox.iso's file: what each device showed,
// the disk that holds the file, and the other disks that hold it too.
type isoSearch struct {
	s      *sandbox
	want   config.DevRef // sandbox.iso's device part
	file   string
	looks  map[string]*isoLook // by device
	order  []string            // the devices in the order looked at
	found  *isoLook
	others []*isoLook
}

// pick is one look at the devices not read yet (waitDevice's check). It is
// done once the file is found and, unless sandbox.iso named the device by
// its path, every disk driver has loaded: a disk that appears later may
// hold the same path.
func (q *isoSearch) pick() (bool, error) {
	devs := []string{q.want.Value}
	byPath := q.want.IsPath()
	if !byPath {
		devs = isoDiskCandidates("/sys/class/block")
	}
	for _, dev := range devs {
		l := q.looks[dev]
		if l != nil && l.done || !isBlock(dev) {
			continue // looked at, or not there yet (or no medium)
		}
		if l == nil {
			l = &isoLook{dev: dev}
			q.looks[dev] = l
			q.order = append(q.order, dev)
		}
		v, err := probeVolume(dev)
		if err != nil {
			l.why = err.Error() // a read error: looked at again
			continue
		}
		l.vol, l.done = v, true
		if !matches(v, q.want) || q.want.IsZero() && !slices.Contains(isoDiskFS, v.FS) {
			continue // not the one named, or nothing the search mounts
		}
		if q.found != nil {
			if q.alsoHolds(l) {
				q.others = append(q.others, l)
			}
			continue
		}
		ok, err := tryISODisk(q.s, l, q.file, isoDiskDir)
		if err != nil {
			return false, err
		}
		if ok {
			q.found = l
		}
	}
	if q.found == nil {
		return false, nil
	}
	select {
	case <-q.s.driversReady():
		// A disk that appeared while the found one was mounted is looked
		// at too (the next call): a second disk with the file is named.
		return byPath || !q.unseen(), nil
	default:
		return byPath, nil
	}
}

// unseen tells whether a disk the search has not looked at yet is there.
func (q *isoSearch) unseen() bool {
	for _, dev := range isoDiskCandidates("/sys/class/block") {
		if q.looks[dev] == nil && isBlock(dev) {
			return true
		}
	}
	return false
}

// alsoHolds mounts l's disk read-only on isoProbeDir, as the search does,
// and says whether it holds the ISO file too; it leaves it unmounted.
func (q *isoSearch) alsoHolds(l *isoLook) bool {
	ok, err := tryISODisk(q.s, l, q.file, isoProbeDir)
	if err != nil || !ok {
		return false
	}
	_ = unix.Unmount(isoProbeDir, 0)
	if l.madeRO {
		setBlockRW(l.dev) // not used: the booted system may write to it
	}
	return true
}

// isoLook is what the ISO file's search saw on one device.
type isoLook struct {
	dev  string
	vol  volume
	done bool   // read: not looked at again
	why  string // why the ISO file is not taken from it, if it was tried
	// madeRO: the search set the device read-only (it was not), to be
	// undone when the file is not taken from it.
	madeRO bool
}

// describe names the device with its file system, label and UUID.
func (l *isoLook) describe() string {
	if !l.done {
		return fmt.Sprintf("%s (unreadable: %s)", l.dev, l.why)
	}
	return fmt.Sprintf("%s (%s)", l.dev, l.vol)
}

// tryISODisk mounts the device read-only on dir and looks for the ISO file
// there, resolved inside the mount (openInRoot). It returns true with the
// disk mounted when the file is there; false, unmounted and l.why set when
// not. An error ends the search: a device named by sandbox.iso (path, label
// or UUID) that cannot be used.
func tryISODisk(s *sandbox, l *isoLook, file, dir string) (bool, error) {
	named := !s.cfg.ISO.Dev.IsZero()
	fail := func(err error, hint string) (bool, error) {
		if named {
			return false, &bootError{Device: l.dev + ":" + file, Err: err, Hint: hint}
		}
		l.why = err.Error()
		return false, nil
	}
	if !slices.Contains(isoDiskFS, l.vol.FS) {
		// Only what the README promises is mounted: each file system
		// driver is code that parses an untrusted disk.
		return fail(fmt.Errorf("%s holds %s, not %s", l.dev, l.vol, strings.Join(isoDiskFS, ", ")),
			"name the partition that holds the ISO file (/dev/sdb1:/path, LABEL=, UUID=); lsblk -f or blkid on another machine shows them")
	}
	if err := haveFS(s, l.vol.FS); err != nil {
		return fail(err, fmt.Sprintf("rebuild the initramfs with 'mklive initramfs -modules %s' (mklive adds vfat, exfat and their code pages when sandbox.iso is set)", l.vol.FS))
	}
	if l.madeRO = !blockRO(l.dev); l.madeRO {
		// Nothing writes to the medium: not even a journal replay or an
		// orphan cleanup, which ext4 does on a read-only mount.
		if err := mountutil.SetReadOnly(l.dev); err != nil {
			return fail(err, "sandbox.iso= must name a block device")
		}
	}
	err := mountDisk(l.dev, l.vol.FS, dir)
	if err != nil {
		if l.madeRO {
			setBlockRW(l.dev)
		}
		return fail(err, "the file system is damaged (dmesg says why): check it on another machine")
	}
	f, err := openInRoot(dir, file)
	if err == nil {
		f.Close()
		return true, nil
	}
	listing := listNear(dir, file)
	_ = unix.Unmount(dir, 0)
	if l.madeRO {
		setBlockRW(l.dev) // not the one: the booted system may write to it
	}
	err = fmt.Errorf("no %s: %w", file, unwrapPath(err))
	if named {
		// The disk named holds no such file: no other will.
		err = fmt.Errorf("%s: %w", l.describe(), err)
	}
	return fail(err, fmt.Sprintf("check the path (ext4 names are case-sensitive); %s has: %s", l.dev, listing))
}

// openInRoot opens file, a path on the disk mounted on root, for reading,
// resolved as if root were / (openat2's RESOLVE_IN_ROOT, as the real
// init's check at switch_root): a symlink on the disk, which anyone may
// have written, cannot lead out of it (to a device or a file of the
// initramfs). Only a regular file is taken; O_NONBLOCK keeps a FIFO from
// blocking the open.
func openInRoot(root, file string) (*os.File, error) {
	dir, err := os.Open(root)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat2(int(dir.Fd()), strings.TrimPrefix(file, "/"), &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: file, Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(root, file))
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = &os.PathError{Op: "open", Path: file, Err: errors.New("not a regular file")}
		}
		return nil, err
	}
	return f, nil
}

// attachISO loop-attaches the ISO file on the mounted disk, read-only, and
// mounts it as the CD on cdDir.
func attachISO(s *sandbox, l *isoLook, file string) error {
	where := l.dev + ":" + file
	if err := s.need("loop"); err != nil {
		return err
	}
	f, err := openInRoot(isoDiskDir, file)
	if err != nil {
		return &bootError{Device: where, Err: err}
	}
	// The file opened inside the disk, not its path again: its magic link.
	loop, err := mountutil.LoopAttach(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	f.Close()
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
func haveFS(s *sandbox, fstype string) error {
	if fstype == "vfat" && s.mods != nil {
		// vfat's default codepage (437) and the charset it is mounted
		// with (mountDisk): the kernel cannot load them itself here.
		var cps []string
		for _, m := range []string{"nls_cp437", "nls_iso8859_1", "nls_utf8"} {
			if _, err := s.mods.l.Deps.Closure(m); err == nil {
				cps = append(cps, m)
			}
		}
		if err := s.mods.l.Need(cps...); err != nil {
			return err
		}
	}
	if _, err := s.fsModule(fstype); err != nil {
		rel, _ := kmod.Release()
		return fmt.Errorf("kernel %s cannot mount %s: %w", rel, fstype, err)
	}
	return nil
}

// isoNotFound says why the ISO file's search found nothing within the
// wait, and what to do: want is the device part of sandbox.iso (none for
// every disk), seen what was looked at.
func isoNotFound(want config.DevRef, file string, seen []*isoLook) (why, hint string) {
	var list []string
	example := "/dev/sdb1" // for the hint: a partition seen, if any
	for i := len(seen) - 1; i >= 0; i-- {
		if seen[i].vol.FS != "" {
			example = seen[i].dev
		}
	}
	for _, l := range seen {
		d := l.describe()
		if l.done && l.why != "" && (want.IsZero() || matches(l.vol, want)) {
			d += ": " + l.why
		}
		list = append(list, d)
	}
	looked := strings.Join(list, "; ")
	switch {
	case want.IsPath() && len(seen) > 0:
		return seen[0].describe(), "check the disk (dmesg says why it cannot be read), or name another partition"
	case want.IsPath():
		return fmt.Sprintf("%s did not appear", want),
			"check the device name (ls /sys/class/block lists what there is), or wait longer with sandbox.wait=30"
	case len(seen) == 0:
		return "no disk appeared",
			"attach the disk or stick that holds the ISO file, or add its driver to the initramfs (mklive -modules); a slow stick: sandbox.wait=30"
	case !want.IsZero():
		return fmt.Sprintf("no file system with %s among %s", want, looked),
			"fix " + want.String() + " in sandbox.iso= (labels and UUIDs as blkid shows them), or name the partition: sandbox.iso=" + example + ":" + file
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
