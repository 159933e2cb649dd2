package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/sandbox-init/sandbox-init/superblock"
	"golang.org/x/sys/unix"
)

// mountDisk mounts a disk read-only on dir (isoDiskDir, isoProbeDir). vfat is mounted with
// UTF-8 names and ISO 8859-1 case folding, whose tables the initramfs has
// (the kernel's default, iocharset=ascii, is a module it lacks), then with
// the kernel's defaults; ext4 with a journal to replay (which a read-only
// device refuses) without the replay.
func mountDisk(dev, fstype, dir string) error {
	opts := map[string][]string{
		"vfat": {"utf8,iocharset=iso8859-1", ""},
		"ext4": {"", "noload"},
	}[fstype]
	if opts == nil {
		opts = []string{""}
	}
	var errs []error
	for _, o := range opts {
		err := unix.Mount(dev, dir, fstype, unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, o)
		if err == nil {
			return nil
		}
		with := ""
		if o != "" {
			with = ", " + o
		}
		errs = append(errs, fmt.Errorf("mount %s on %s (%s, read-only%s): %w", dev, dir, fstype, with, err))
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
// superblock (superblock.Probe), and for FAT and exFAT the label in the root
// directory. It only reads.
func probeVolume(dev string) (volume, error) {
	f, err := os.Open(dev)
	if err != nil {
		return volume{}, err
	}
	defer f.Close()
	b := make([]byte, superblock.ProbeBytes)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return volume{}, fmt.Errorf("read %s: %w", dev, err)
	}
	v := superblock.Probe(b[:n])
	if v.DirLen > 0 {
		dir := make([]byte, v.DirLen)
		if n, _ := f.ReadAt(dir, v.DirOff); n > 0 {
			if label, ok := superblock.DirLabel(v.FS, dir[:n]); ok {
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
