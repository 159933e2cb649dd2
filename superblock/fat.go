package superblock

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// isFAT tells a FAT12/16/32 boot sector: the boot signature and the file
// system type where FAT12/16 (at 54) or FAT32 (at 82) write it.
func isFAT(b []byte) bool {
	return len(b) >= 512 && b[510] == 0x55 && b[511] == 0xAA && (magic(54, "FAT")(b) || magic(82, "FAT32")(b))
}

// serial formats a FAT or exFAT volume id as blkid does: XXXX-XXXX.
func serial(b []byte, off int) string {
	id := le32(b, off)
	return fmt.Sprintf("%04X-%04X", id>>16, id&0xFFFF)
}

// readFAT takes the boot sector's volume label and id (FAT32 at 0x47 and
// 0x43, FAT12/16 at 0x2B and 0x27) and where the root directory starts.
func readFAT(b []byte, v *Volume) {
	bps, spc, rsvd, nfats := int(le16(b, 11)), int(b[13]), int(le16(b, 14)), int(b[16])
	sig, idOff, labelOff := 0x26, 0x27, 0x2B // FAT12/16
	fat32 := le16(b, 22) == 0
	if fat32 {
		sig, idOff, labelOff = 0x42, 0x43, 0x47
	}
	if b[sig] == 0x29 || b[sig] == 0x28 {
		v.UUID = serial(b, idOff)
	}
	if b[sig] == 0x29 {
		v.Label = fatLabel(b[labelOff : labelOff+11])
	}
	if !validGeometry(bps, spc) || nfats == 0 {
		return
	}
	if fat32 {
		root := int64(le32(b, 44))
		if root < 2 {
			return
		}
		data := int64(rsvd) + int64(nfats)*int64(le32(b, 36))
		v.DirOff = (data + (root-2)*int64(spc)) * int64(bps)
		v.DirLen = spc * bps
	} else {
		v.DirOff = (int64(rsvd) + int64(nfats)*int64(le16(b, 22))) * int64(bps)
		v.DirLen = int(le16(b, 17)) * 32
	}
}

// readExFAT takes exFAT's volume serial (at 100) and where the root
// directory, which alone holds the label, starts.
func readExFAT(b []byte, v *Volume) {
	if len(b) < 512 {
		return
	}
	v.UUID = serial(b, 100)
	bpsShift, spcShift := int(b[108]), int(b[109])
	root, heap := int64(le32(b, 96)), int64(le32(b, 88))
	if bpsShift < 9 || bpsShift > 12 || bpsShift+spcShift > 25 || root < 2 {
		return
	}
	v.DirOff = (heap + (root-2)<<spcShift) << bpsShift
	v.DirLen = 1 << (bpsShift + spcShift)
}

// DirLabel finds the volume label entry in the start of a FAT or exFAT
// root directory (fs: the Volume's FS): FAT's entry with the volume-id
// attribute (not a long name's part), exFAT's volume label entry (type
// 0x83, UTF-16).
func DirLabel(fs string, dir []byte) (string, bool) {
	for i := 0; i+32 <= len(dir); i += 32 {
		e := dir[i : i+32]
		switch {
		case e[0] == 0:
			return "", false // the end of the directory
		case fs == "vfat" && e[0] != 0xE5 && e[11] != 0x0F && e[11]&0x08 != 0:
			name := append([]byte(nil), e[:11]...)
			if name[0] == 0x05 {
				name[0] = 0xE5 // a name starting with 0xE5, as FAT stores it
			}
			return fatLabel(name), true
		case fs == "exfat" && e[0] == 0x83:
			n := min(int(e[1]), 11)
			u := make([]uint16, n)
			for j := range u {
				u[j] = binary.LittleEndian.Uint16(e[2+2*j:])
			}
			return string(utf16.Decode(u)), true
		case fs != "vfat" && fs != "exfat":
			return "", false
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
