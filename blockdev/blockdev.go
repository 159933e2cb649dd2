// Package blockdev tells which parts of which disks a block device stands
// on, from the kernel's sysfs: a partition is a span of its disk, a
// device-mapper device stands on its slaves, a loop device on the disk
// that holds its backing file. Two devices that share a sector of a disk
// share data: writing one destroys the other. The init proves with it that
// a COW disk holds nothing the boot reads (issue #20) — device names move
// between machines, so names are never compared, only sectors.
//
// It reads files only (a sysfs tree and /proc/self/mountinfo's text), so
// its tests run on fixtures.
package blockdev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Extent is a run of a whole disk's 512-byte sectors.
type Extent struct {
	Disk       string // the whole disk's kernel name: sda, vda, sr0, loop0
	Start, Len uint64 // in sectors
}

// Overlaps tells whether a and b share a sector.
func (a Extent) Overlaps(b Extent) bool {
	return a.Disk == b.Disk && a.Start < b.Start+b.Len && b.Start < a.Start+a.Len
}

func (a Extent) String() string {
	return fmt.Sprintf("%s sectors %d+%d", a.Disk, a.Start, a.Len)
}

// Sys reads the block layer's relations from a sysfs tree.
type Sys struct {
	Root string // "/sys", or a test's fixture
	// FileDev gives the device number (stat's st_dev) of the file system
	// holding a path: where a loop device's backing file lives.
	FileDev func(path string) (uint64, error)
}

// maxDepth bounds the walk down slaves and backing files: the kernel
// builds no cycles, but a bad fixture (or a bug) must not hang PID 1.
const maxDepth = 16

// Extents returns every extent the device dev (a device number) stands
// on: itself, whole; for a partition, its span on its disk and what the
// disk stands on; for a device-mapper device (or any with slaves), what
// each slave stands on; for a loop device, what its backing file's file
// system stands on. A device with no disk beneath (a RAM disk, a loop
// device over a tmpfs file) stands on itself only.
func (s Sys) Extents(dev uint64) ([]Extent, error) {
	return s.extents(dev, 0)
}

func (s Sys) extents(dev uint64, depth int) ([]Extent, error) {
	if depth > maxDepth {
		return nil, errors.New("block devices nested too deep")
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(s.Root, "dev/block", MajMin(dev)))
	if err != nil {
		return nil, fmt.Errorf("block device %s in sysfs: %w", MajMin(dev), err)
	}
	name := filepath.Base(dir)
	size, err := readUint(filepath.Join(dir, "size"))
	if err != nil {
		return nil, err
	}
	out := []Extent{{Disk: name, Len: size}}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		// A partition: its sectors are its disk's, from start on.
		start, err := readUint(filepath.Join(dir, "start"))
		if err != nil {
			return nil, err
		}
		disk := filepath.Dir(dir)
		out = append(out, Extent{Disk: filepath.Base(disk), Start: start, Len: size})
		below, err := s.below(disk, depth)
		return append(out, below...), err
	}
	below, err := s.below(dir, depth)
	return append(out, below...), err
}

// below returns what the whole disk in sysfs directory dir stands on:
// its slaves' extents, or its backing file's disk for a loop device.
func (s Sys) below(dir string, depth int) ([]Extent, error) {
	var out []Extent
	slaves, _ := os.ReadDir(filepath.Join(dir, "slaves"))
	for _, sl := range slaves {
		dev, err := s.devOf(sl.Name())
		if err != nil {
			return nil, err
		}
		ext, err := s.extents(dev, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, ext...)
	}
	backing, err := os.ReadFile(filepath.Join(dir, "loop/backing_file"))
	if err != nil || s.FileDev == nil {
		return out, nil // not a loop device, or one with no file now
	}
	path := strings.TrimSuffix(strings.TrimSpace(string(backing)), " (deleted)")
	dev, err := s.FileDev(path)
	if err != nil {
		return nil, fmt.Errorf("%s's backing file %s: %w", filepath.Base(dir), path, err)
	}
	if Major(dev) == 0 {
		return out, nil // tmpfs, ramfs: no disk beneath
	}
	ext, err := s.extents(dev, depth+1)
	return append(out, ext...), err
}

// devOf reads a block device's number from /sys/class/block/NAME/dev.
func (s Sys) devOf(name string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(s.Root, "class/block", name, "dev"))
	if err != nil {
		return 0, err
	}
	return ParseMajMin(strings.TrimSpace(string(b)))
}

// Overlap returns the first pair of extents, one of a and one of b, that
// share a sector.
func Overlap(a, b []Extent) (Extent, Extent, bool) {
	for _, x := range a {
		for _, y := range b {
			if x.Overlaps(y) {
				return x, y, true
			}
		}
	}
	return Extent{}, Extent{}, false
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// Major and Minor split a device number as Linux encodes it (the
// encoding of unix.Major/Minor, kept here so the package stays portable).
func Major(dev uint64) uint32 { return uint32((dev>>8)&0xfff | (dev>>32)&^0xfff) }

// Minor is the minor half of dev.
func Minor(dev uint64) uint32 { return uint32(dev&0xff | (dev>>12)&^0xff) }

// Mkdev builds a device number from its halves.
func Mkdev(major, minor uint32) uint64 {
	return uint64(major&0xfff)<<8 | uint64(major&^0xfff)<<32 | uint64(minor&0xff) | uint64(minor&^0xff)<<12
}

// MajMin prints dev as sysfs names it: "8:1".
func MajMin(dev uint64) string { return fmt.Sprintf("%d:%d", Major(dev), Minor(dev)) }

// ParseMajMin reads "8:1".
func ParseMajMin(s string) (uint64, error) {
	a, b, ok := strings.Cut(s, ":")
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%q is not a device number (major:minor)", s)
	}
	return Mkdev(uint32(ma), uint32(mi)), nil
}

// Mount is one mounted block device of /proc/self/mountinfo.
type Mount struct {
	Dev    uint64
	Dir    string // where it is mounted
	Source string // the mount's source, as the kernel shows it
}

// Mounts reads the block devices mounted, from /proc/self/mountinfo's
// text; file systems with no device (major 0: proc, tmpfs, overlay) are
// left out.
func Mounts(mountinfo string) []Mount {
	var out []Mount
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 2 {
			continue
		}
		dev, err := ParseMajMin(f[2])
		if err != nil || Major(dev) == 0 {
			continue
		}
		out = append(out, Mount{Dev: dev, Dir: unescape(f[4]), Source: unescape(g[1])})
	}
	return out
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and
// backslash.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
