package main

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/mountutil"
)

// volume is what a file system's superblock says about it.
type volume struct {
	FS    string // ext4 (ext2/3/4), vfat, exfat; "" for anything else
	Label string
	UUID  string
	// dirOff and dirLen locate the start of a FAT or exFAT root
	// directory, where the label is (FAT: also; exFAT: only).
	dirOff int64
	dirLen int
}

func (v volume) String() string {
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

// matches tells whether the volume is the one sandbox.iso's device part
// names: LABEL=X, UUID=Y (either case), a /dev path (taken as it is) or
// none (every one). FAT and exFAT labels match in either case, as those file
// systems compare names.
func (v volume) matches(want config.DevRef) bool {
	switch want.Kind {
	case config.RefLabel:
		return v.FS != "" && (v.Label == want.Value || v.FS != "ext4" && strings.EqualFold(v.Label, want.Value))
	case config.RefUUID:
		return v.FS != "" && v.UUID != "" && strings.EqualFold(v.UUID, want.Value)
	}
	return true
}

// readVolume reads the file system, label and UUID from a device's first
// bytes (at least the first 2 KiB; mountutil.FSProbeBytes), as blkid shows
// them: ext2/3/4's s_volume_name and s_uuid (superblock at 1024), FAT's
// boot sector volume label and id (FAT32 at 0x47 and 0x43, FAT12/16 at
// 0x2B and 0x27), the id as XXXX-XXXX, and exFAT's volume serial (at 100),
// likewise. FAT's label is also, and exFAT's only, in the root directory:
// dirOff and dirLen say where, for dirLabel.
func readVolume(b []byte) volume {
	v := volume{FS: mountutil.FSType(b)}
	le16 := func(off int) int { return int(binary.LittleEndian.Uint16(b[off:])) }
	le32 := func(off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
	serial := func(off int) string { id := le32(off); return fmt.Sprintf("%04X-%04X", id>>16, id&0xFFFF) }
	switch v.FS {
	case "ext4":
		if len(b) < 1024+136 {
			break
		}
		u := b[1024+104 : 1024+120]
		if !allZero(u) {
			v.UUID = fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
		}
		v.Label = cString(b[1024+120 : 1024+136])
	case "vfat":
		bps, spc, rsvd, nfats := le16(11), int(b[13]), le16(14), int(b[16])
		sig, idOff, labelOff := 0x26, 0x27, 0x2B // FAT12/16
		fat32 := le16(22) == 0
		if fat32 {
			sig, idOff, labelOff = 0x42, 0x43, 0x47
		}
		if b[sig] == 0x29 || b[sig] == 0x28 {
			v.UUID = serial(idOff)
		}
		if b[sig] == 0x29 {
			v.Label = fatLabel(b[labelOff : labelOff+11])
		}
		if !validGeometry(bps, spc) || nfats == 0 {
			break
		}
		if fat32 {
			root := int64(le32(44))
			if root < 2 {
				break
			}
			data := int64(rsvd) + int64(nfats)*int64(le32(36))
			v.dirOff = (data + (root-2)*int64(spc)) * int64(bps)
			v.dirLen = spc * bps
		} else {
			v.dirOff = (int64(rsvd) + int64(nfats)*int64(le16(22))) * int64(bps)
			v.dirLen = le16(17) * 32
		}
	case "exfat":
		if len(b) < 512 {
			break
		}
		v.UUID = serial(100)
		bpsShift, spcShift := int(b[108]), int(b[109])
		root, heap := int64(le32(96)), int64(le32(88))
		if bpsShift < 9 || bpsShift > 12 || bpsShift+spcShift > 25 || root < 2 {
			break
		}
		v.dirOff = (heap + (root-2)<<spcShift) << bpsShift
		v.dirLen = 1 << (bpsShift + spcShift)
	}
	if v.dirLen > 64<<10 {
		v.dirLen = 64 << 10 // the label is among the first entries
	}
	return v
}

// dirLabel finds the volume label entry in the start of a FAT or exFAT
// root directory: FAT's entry with the volume-id attribute (not a long
// name's part), exFAT's volume label entry (type 0x83, UTF-16).
func dirLabel(fs string, dir []byte) (string, bool) {
	for i := 0; i+32 <= len(dir); i += 32 {
		e := dir[i : i+32]
		switch fs {
		case "vfat":
			switch {
			case e[0] == 0:
				return "", false // the end of the directory
			case e[0] == 0xE5 || e[11] == 0x0F || e[11]&0x08 == 0:
				continue // deleted, a long name's part, or a file
			}
			name := append([]byte(nil), e[:11]...)
			if name[0] == 0x05 {
				name[0] = 0xE5 // a name starting with 0xE5, as FAT stores it
			}
			return fatLabel(name), true
		case "exfat":
			switch {
			case e[0] == 0:
				return "", false
			case e[0] != 0x83:
				continue
			}
			n := int(e[1])
			if n > 11 {
				n = 11
			}
			u := make([]uint16, n)
			for j := range u {
				u[j] = binary.LittleEndian.Uint16(e[2+2*j:])
			}
			return string(utf16.Decode(u)), true
		}
	}
	return "", false
}

// fatLabel trims a FAT label's padding; "NO NAME" is no label.
func fatLabel(b []byte) string {
	l := strings.TrimRight(string(b), " \x00")
	if l == "NO NAME" {
		return ""
	}
	return l
}

func validGeometry(bps, spc int) bool {
	return (bps == 512 || bps == 1024 || bps == 2048 || bps == 4096) && spc > 0 && spc&(spc-1) == 0
}

func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
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
