// Package superblock reads what a device's first bytes say about it: the
// file system (one pure probe per superblock, reading magics as blkid
// does), its label and UUID, an ext2/3/4 file system's sizes, and an ISO
// 9660 disc's primary volume descriptor. Nothing here opens a device: the
// callers read the bytes (the first ProbeBytes, or 2048-byte sectors), so
// every reader is tested and fuzzed on any machine, and a new file system
// is a row of the probes table.
//
// By file: probe.go the table and Probe; ext.go ext2/3/4; fat.go FAT and
// exFAT; iso9660.go ISO 9660's volume descriptors and sessions.
package superblock

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// ProbeBytes is how much of a device Probe needs to see: the farthest
// magic it reads is btrfs's, at 64 KiB.
const ProbeBytes = 64<<10 + 4096

// Volume is what a file system's superblock says about it.
type Volume struct {
	// FS is the file system as the kernel's mount(2) calls it ("ext4" for
	// the ext2/3/4 family: Debian's and most kernels mount all three with
	// the ext4 driver); "" when no probe knows it.
	FS    string
	Label string
	UUID  string
	// DirOff and DirLen locate the start of a FAT or exFAT root
	// directory, where the label is (FAT: also; exFAT: only): DirLabel
	// reads it.
	DirOff int64
	DirLen int
}

// probe is one file system: is tells its superblock from b (a device's
// first bytes), read takes its label and UUID (nil: none read).
type probe struct {
	fs   string
	is   func(b []byte) bool
	read func(b []byte, v *Volume)
}

// probes are tried in order: the first whose magic is there names the file
// system.
var probes = []probe{
	{"ext4", func(b []byte) bool { return le16(b, 1080) == 0xEF53 }, readExt},
	{"squashfs", magic(0, "hsqs"), nil},
	{"erofs", func(b []byte) bool { return le32(b, 1024) == 0xE0F5E1E2 }, nil},
	{"xfs", magic(0, "XFSB"), nil},
	{"btrfs", magic(65536+64, "_BHRfS_M"), nil},
	{"f2fs", func(b []byte) bool { return le32(b, 1024) == 0xF2F52010 }, nil},
	{"cramfs", func(b []byte) bool { return le32(b, 0) == 0x28CD3D45 }, nil},
	{"romfs", magic(0, "-rom1fs-"), nil},
	{"iso9660", magic(32769, "CD001"), nil},
	{"exfat", magic(3, "EXFAT   "), readExFAT},
	{"vfat", isFAT, readFAT},
}

// FSType names the file system whose superblock starts b, or "" when none
// of the probes' is there. It reads magics only, so an unknown device costs
// one read and no mount attempt.
func FSType(b []byte) string {
	for _, p := range probes {
		if p.is(b) {
			return p.fs
		}
	}
	return ""
}

// Probe reads the file system, label and UUID from a device's first bytes
// (at least the first 2 KiB; ProbeBytes for every probe), as blkid shows
// them. Only ext2/3/4, FAT and exFAT have their label and UUID read; for
// FAT and exFAT, DirOff and DirLen say where the root directory's label
// entry is (DirLabel).
func Probe(b []byte) Volume {
	for _, p := range probes {
		if !p.is(b) {
			continue
		}
		v := Volume{FS: p.fs}
		if p.read != nil {
			p.read(b, &v)
		}
		if v.DirLen > 64<<10 {
			v.DirLen = 64 << 10 // the label is among the first entries
		}
		return v
	}
	return Volume{}
}

// String describes the volume for a message: "vfat, LABEL=STICK,
// UUID=1234-ABCD", or what the ISO file search mounts when no file system
// is known.
func (v Volume) String() string {
	if v.FS == "" {
		return "no ext4, vfat or exfat"
	}
	s := v.FS
	if v.Label != "" {
		s += ", LABEL=" + v.Label
	}
	if v.UUID != "" {
		s += ", UUID=" + v.UUID
	}
	return s
}

// HasLabel tells whether the volume's label is l: FAT and exFAT labels
// match in either case, as those file systems compare names; ext2/3/4's
// exactly.
func (v Volume) HasLabel(l string) bool {
	return v.FS != "" && (v.Label == l || v.FS != "ext4" && strings.EqualFold(v.Label, l))
}

// HasUUID tells whether the volume's UUID is u, in either case (blkid
// prints FAT's in capitals, people type it either way).
func (v Volume) HasUUID(u string) bool {
	return v.FS != "" && v.UUID != "" && strings.EqualFold(v.UUID, u)
}

func magic(off int, m string) func(b []byte) bool {
	return func(b []byte) bool {
		return len(b) >= off+len(m) && bytes.Equal(b[off:off+len(m)], []byte(m))
	}
}

// le16 and le32 read little-endian numbers; 0 past the end of b.
func le16(b []byte, off int) uint16 {
	if off < 0 || len(b) < off+2 {
		return 0
	}
	return binary.LittleEndian.Uint16(b[off:])
}

func le32(b []byte, off int) uint32 {
	if off < 0 || len(b) < off+4 {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
