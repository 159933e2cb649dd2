package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sandbox-init/sandbox-init/blockdev"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"golang.org/x/sys/unix"
)

// inUse is something this boot reads or has mounted, which a COW disk
// must not share a sector with.
type inUse struct {
	dev  uint64
	what string // for the message: "the CD this system boots from (/dev/vda)"
}

// proveScratch proves that dev, the COW disk the user named, is scratch
// space before anything writes to it (a store header, then the snapshot):
// it shares no sector with the boot medium, the ISO file's disk, the
// origin, a mounted file system, a loop device's backing file or a
// device-mapper device (sysfs relations: partitions, slaves, backing
// files), and nothing holds it open exclusively. Device names move
// between machines (sdb is the stick on one PC, the scratch disk on the
// next), so a typo must cost a message, not the stick.
func proveScratch(s *sandbox, dev string) error {
	hint := "sandbox.cow= must name a scratch disk that holds nothing this boot uses: device names differ between machines, check which disk is which (in the rescue shell: ls -l /sys/block, cat /proc/partitions), or use sandbox.cow=ram0"
	d, err := blockDev(dev)
	if err != nil {
		return &bootError{Device: dev, Err: err, Hint: hint}
	}
	sys := blockdev.Sys{Root: "/sys", FileDev: fileDev}
	cow, err := sys.Extents(d)
	if err != nil {
		return &bootError{Device: dev, Err: fmt.Errorf("cannot tell what the COW disk stands on: %w", err), Hint: hint}
	}
	for _, u := range devicesInUse(s) {
		ext, err := sys.Extents(u.dev)
		if err != nil {
			return &bootError{Device: dev, Err: fmt.Errorf("cannot prove the COW disk is apart from %s: %w", u.what, err), Hint: hint}
		}
		if x, _, ok := blockdev.Overlap(cow, ext); ok {
			return &bootError{Device: dev, Err: fmt.Errorf("refused as the COW disk: it shares %s with %s; nothing was written to it", x, u.what), Hint: hint}
		}
	}
	f, err := mountutil.OpenExclusive(dev)
	if err != nil {
		return &bootError{Device: dev, Err: fmt.Errorf("refused as the COW disk: %w (it is mounted, or held by device-mapper or a driver); nothing was written to it", err), Hint: hint}
	}
	f.Close()
	return nil
}

// inUse lists what this boot reads or has mounted: the medium (even once
// released: it is what the system boots from), the ISO file's disk, the
// origin, every mounted block device, every loop device with a backing
// file and every device-mapper device.
func devicesInUse(s *sandbox) []inUse {
	var out []inUse
	add := func(path, what string) {
		if d, err := blockDev(path); err == nil {
			out = append(out, inUse{d, fmt.Sprintf("%s (%s)", what, path)})
		}
	}
	if s.state.ISODisk != "" {
		add(s.state.ISODisk, "the disk holding the ISO file this system boots from (sandbox.iso=)")
	} else if strings.HasPrefix(s.state.CD, "/dev/") {
		add(s.state.CD, "the medium this system boots from")
	}
	add(s.cfg.Origin, "the origin (sandbox.origin=)")
	add(s.state.Origin, "the snapshot's origin")
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, m := range blockdev.Mounts(string(b)) {
			out = append(out, inUse{m.Dev, fmt.Sprintf("%s, mounted on %s", m.Source, m.Dir)})
		}
	}
	for pattern, what := range map[string]string{"/sys/block/loop*/loop/backing_file": "%s over %s", "/sys/block/dm-*/dm/name": "%s, device-mapper's %s"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			b, _ := os.ReadFile(f)
			name := strings.Split(f, "/")[3]
			add("/dev/"+name, fmt.Sprintf(what, name, strings.TrimSpace(string(b))))
		}
	}
	return out
}

// blockDev returns the device number of the block device at path.
func blockDev(path string) (uint64, error) {
	if path == "" {
		return 0, errors.New("no device")
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return 0, fmt.Errorf("%s is not a block device", path)
	}
	return st.Rdev, nil
}

// fileDev is the device number of the file system holding path.
func fileDev(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Dev, nil
}
