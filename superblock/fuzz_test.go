package superblock

import (
	"bytes"
	"testing"
)

// FuzzProbes: whatever a device's first bytes hold, and however few of
// them there are, every reader returns without a panic, and what they say
// agrees: Probe names the file system FSType names, only ext2/3/4 has a
// size, a root directory lies past the boot sector and is at most 64 KiB,
// a primary volume descriptor is one by its type and magic, and FindPVD
// over the bytes as a disc finds one only where ParsePVD does.
func FuzzProbes(f *testing.F) {
	ext := make([]byte, 2048)
	ext[1080], ext[1081] = 0x53, 0xEF
	fat := make([]byte, 512)
	copy(fat[82:], "FAT32   ")
	fat[510], fat[511], fat[0x42] = 0x55, 0xAA, 0x29
	exfat := make([]byte, 512)
	copy(exfat[3:], "EXFAT   ")
	pvd := make([]byte, 2048)
	pvd[0] = 1
	copy(pvd[1:6], "CD001")
	for _, s := range [][]byte{nil, ext, fat, exfat, pvd, []byte("hsqs"), []byte("XFSB")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := Probe(b)
		if v.FS != FSType(b) {
			t.Errorf("Probe says %q, FSType %q", v.FS, FSType(b))
		}
		if v.FS == "" && v != (Volume{}) {
			t.Errorf("no file system, yet %+v", v)
		}
		if v.DirLen < 0 || v.DirLen > 64<<10 || v.DirLen > 0 && v.DirOff < 512 {
			t.Errorf("root directory at %d, %d bytes", v.DirOff, v.DirLen)
		}
		if _, size, _, ok := ExtSpace(b); ok && v.FS != "ext4" || !ok && size != 0 {
			t.Errorf("ExtSpace ok %v on %q", ok, v.FS)
		}
		if _, _, ok := ExtGroups(b); ok && v.FS != "ext4" {
			t.Errorf("ExtGroups ok on %q", v.FS)
		}
		for _, fs := range []string{"vfat", "exfat"} {
			_, _ = DirLabel(fs, b)
		}
		p, ok := ParsePVD(b)
		if ok && (b[0] != 1 || !bytes.Equal(b[1:6], []byte("CD001"))) || !ok && p != (PVD{}) {
			t.Errorf("ParsePVD = %+v, %v", p, ok)
		}
		disc := func(sec int64) ([]byte, error) {
			if sec == 16 {
				return b, nil
			}
			return make([]byte, SectorSize), nil
		}
		if q, found := FindPVD(disc, 0); found != ok || q != p {
			t.Errorf("FindPVD = %+v, %v; ParsePVD %+v, %v", q, found, p, ok)
		}
	})
}
