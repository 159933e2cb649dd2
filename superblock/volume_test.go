package superblock

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"
)

// Synthetic superblocks, laid out as mke2fs, mkfs.vfat/mformat and
// mkfs.exfat write them; blkid shows the same labels and UUIDs for real
// images made by those tools.
func ext4Super(label string, uuid []byte) []byte {
	b := make([]byte, ProbeBytes)
	binary.LittleEndian.PutUint16(b[1080:], 0xEF53)
	copy(b[1024+104:], uuid)
	copy(b[1024+120:], label)
	return b
}

// fatBoot is a FAT boot sector: FAT32 when fat32, else FAT16 with a
// 512-entry root directory.
func fatBoot(fat32 bool, label string, id uint32) []byte {
	b := make([]byte, ProbeBytes)
	binary.LittleEndian.PutUint16(b[11:], 512) // bytes per sector
	b[13] = 4                                  // sectors per cluster
	binary.LittleEndian.PutUint16(b[14:], 32)  // reserved sectors
	b[16] = 2                                  // FATs
	sig, idOff, labelOff, typeOff, typ := 0x26, 0x27, 0x2B, 54, "FAT16   "
	if fat32 {
		binary.LittleEndian.PutUint32(b[36:], 100) // sectors per FAT
		binary.LittleEndian.PutUint32(b[44:], 2)   // root cluster
		sig, idOff, labelOff, typeOff, typ = 0x42, 0x43, 0x47, 82, "FAT32   "
	} else {
		binary.LittleEndian.PutUint16(b[17:], 512) // root entries
		binary.LittleEndian.PutUint16(b[22:], 20)  // sectors per FAT
	}
	b[sig] = 0x29
	binary.LittleEndian.PutUint32(b[idOff:], id)
	copy(b[labelOff:], (label + "           ")[:11])
	copy(b[typeOff:], typ)
	b[510], b[511] = 0x55, 0xAA
	return b
}

func exfatBoot(serial uint32) []byte {
	b := make([]byte, ProbeBytes)
	copy(b[3:], "EXFAT   ")
	binary.LittleEndian.PutUint32(b[88:], 2048) // cluster heap offset (sectors)
	binary.LittleEndian.PutUint32(b[96:], 5)    // root directory cluster
	binary.LittleEndian.PutUint32(b[100:], serial)
	b[108], b[109] = 9, 3 // 512-byte sectors, 8 sectors per cluster
	b[510], b[511] = 0x55, 0xAA
	return b
}

func TestReadVolume(t *testing.T) {
	uuid := []byte{0x3e, 0x6b, 0xe9, 0xde, 0x81, 0x39, 0x4a, 0x2f, 0x9c, 0x44, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06}
	noSig := fatBoot(false, "X", 0x1234ABCD)
	noSig[0x26] = 0
	for _, tc := range []struct {
		name string
		b    []byte
		want Volume
	}{
		{"ext4", ext4Super("STICK", uuid), Volume{FS: "ext4", Label: "STICK", UUID: "3e6be9de-8139-4a2f-9c44-010203040506"}},
		{"ext4 full label", ext4Super("sixteen-chars-ab", uuid), Volume{FS: "ext4", Label: "sixteen-chars-ab", UUID: "3e6be9de-8139-4a2f-9c44-010203040506"}},
		{"ext4 no label no uuid", ext4Super("", nil), Volume{FS: "ext4"}},
		{"FAT16", fatBoot(false, "STICK", 0x1234ABCD), Volume{FS: "vfat", Label: "STICK", UUID: "1234-ABCD", DirOff: (32 + 2*20) * 512, DirLen: 512 * 32}},
		{"FAT32", fatBoot(true, "MY STICK", 0xDEADBEEF), Volume{FS: "vfat", Label: "MY STICK", UUID: "DEAD-BEEF", DirOff: (32 + 2*100) * 512, DirLen: 4 * 512}},
		{"FAT NO NAME", fatBoot(true, "NO NAME", 0x00000001), Volume{FS: "vfat", UUID: "0000-0001", DirOff: (32 + 2*100) * 512, DirLen: 4 * 512}},
		{"FAT without extended boot signature", noSig, Volume{FS: "vfat", DirOff: (32 + 2*20) * 512, DirLen: 512 * 32}},
		{"exFAT", exfatBoot(0x6A1B2C3D), Volume{FS: "exfat", UUID: "6A1B-2C3D", DirOff: (2048 + 3*8) * 512, DirLen: 4096}},
		{"zeros", make([]byte, ProbeBytes), Volume{}},
		{"short", []byte{1, 2, 3}, Volume{}},
	} {
		if got := Probe(tc.b); got != tc.want {
			t.Errorf("%s: Probe = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Broken geometry: no root directory to read, no panic.
	bad := fatBoot(true, "STICK", 1)
	binary.LittleEndian.PutUint16(bad[11:], 0)
	if v := Probe(bad); v.DirLen != 0 || v.Label != "STICK" {
		t.Errorf("FAT with 0-byte sectors: %+v", v)
	}
	for n := 0; n < 1200; n += 7 {
		_ = Probe(fatBoot(n%2 == 0, "X", 1)[:n])
		_ = Probe(exfatBoot(1)[:n])
		_ = Probe(ext4Super("X", uuid)[:n])
	}
}

func TestDirLabel(t *testing.T) {
	entry := func(name string, attr byte) []byte {
		e := make([]byte, 32)
		copy(e, (name + "           ")[:11])
		e[11] = attr
		return e
	}
	dir := func(entries ...[]byte) []byte {
		var b []byte
		for _, e := range entries {
			b = append(b, e...)
		}
		return append(b, make([]byte, 64)...)
	}
	deleted := entry("OLDLABEL", 0x08)
	deleted[0] = 0xE5
	for _, tc := range []struct {
		name string
		dir  []byte
		want string
		ok   bool
	}{
		{"label first", dir(entry("WINLABEL", 0x08), entry("ISOS", 0x10)), "WINLABEL", true},
		{"after files and a long name", dir(entry("ISOS", 0x10), entry("\x41l\x00i\x00v", 0x0F), entry("LIVE    ISO", 0x20), entry("STICK", 0x28)), "STICK", true},
		{"deleted label", dir(deleted, entry("ISOS", 0x10)), "", false},
		{"none", dir(entry("ISOS", 0x10)), "", false},
		{"empty", nil, "", false},
	} {
		if got, ok := DirLabel("vfat", tc.dir); got != tc.want || ok != tc.ok {
			t.Errorf("vfat %s: DirLabel = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	exLabel := func(s string) []byte {
		e := make([]byte, 32)
		e[0] = 0x83
		u := utf16.Encode([]rune(s))
		e[1] = byte(len(u))
		for i, c := range u {
			binary.LittleEndian.PutUint16(e[2+2*i:], c)
		}
		return e
	}
	bitmap, upcase := make([]byte, 32), make([]byte, 32)
	bitmap[0], upcase[0] = 0x81, 0x82
	unused := exLabel("GONE")
	unused[0] = 0x03
	for _, tc := range []struct {
		name string
		dir  []byte
		want string
		ok   bool
	}{
		{"after bitmap and up-case table", dir(bitmap, upcase, exLabel("Stick Ü")), "Stick Ü", true},
		{"unused label entry", dir(unused, bitmap), "", false},
	} {
		if got, ok := DirLabel("exfat", tc.dir); got != tc.want || ok != tc.ok {
			t.Errorf("exfat %s: DirLabel = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
