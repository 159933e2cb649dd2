package superblock

import (
	"encoding/binary"
	"testing"
)

func TestFSType(t *testing.T) {
	put := func(off int, magic []byte) []byte {
		b := make([]byte, ProbeBytes)
		copy(b[off:], magic)
		return b
	}
	le := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	fat := put(510, []byte{0x55, 0xAA})
	copy(fat[82:], "FAT32   ")
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"ext2", put(1080, []byte{0x53, 0xEF}), "ext4"},
		{"squashfs", put(0, []byte("hsqs")), "squashfs"},
		{"erofs", put(1024, le(0xE0F5E1E2)), "erofs"},
		{"xfs", put(0, []byte("XFSB")), "xfs"},
		{"btrfs", put(65600, []byte("_BHRfS_M")), "btrfs"},
		{"f2fs", put(1024, le(0xF2F52010)), "f2fs"},
		{"iso9660", put(32769, []byte("CD001")), "iso9660"},
		{"vfat", fat, "vfat"},
		{"exfat", put(3, []byte("EXFAT   ")), "exfat"},
		{"zeros", make([]byte, ProbeBytes), ""},
		{"short", []byte{1, 2, 3}, ""},
		{"boot sector without FAT", put(510, []byte{0x55, 0xAA}), ""},
	} {
		if got := FSType(tc.b); got != tc.want {
			t.Errorf("%s: FSType = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestExtSpace(t *testing.T) {
	b := make([]byte, ProbeBytes)
	sb := b[1024:]
	binary.LittleEndian.PutUint16(sb[0x38:], 0xEF53)
	binary.LittleEndian.PutUint32(sb[0x04:], 6000) // blocks
	binary.LittleEndian.PutUint32(sb[0x08:], 100)  // reserved
	binary.LittleEndian.PutUint32(sb[0x0C:], 1100) // free
	binary.LittleEndian.PutUint32(sb[0x18:], 2)    // 4 KiB blocks
	bs, size, avail, ok := ExtSpace(b)
	if !ok || bs != 4096 || size != 6000*4096 || avail != 1000*4096 {
		t.Errorf("ExtSpace = %d, %d, %d, %v", bs, size, avail, ok)
	}
	if _, _, _, ok := ExtSpace(make([]byte, ProbeBytes)); ok {
		t.Error("zeros read as ext4")
	}
	if _, _, ok := ExtGroups(b); ok {
		t.Error("ExtGroups of a superblock with no blocks per group: ok")
	}
	binary.LittleEndian.PutUint32(sb[0x20:], 32768) // blocks per group
	binary.LittleEndian.PutUint32(sb[0x28:], 8192)  // inodes per group
	if group, meta, ok := ExtGroups(b); !ok || group != 128<<20 || meta != 8192*128+2*4096 {
		t.Errorf("ExtGroups, revision 0 = %d, %d, %v", group, meta, ok)
	}
	binary.LittleEndian.PutUint32(sb[0x4C:], 1)   // dynamic revision
	binary.LittleEndian.PutUint16(sb[0x58:], 256) // inode size
	if group, meta, ok := ExtGroups(b); !ok || group != 128<<20 || meta != 8192*256+2*4096 {
		t.Errorf("ExtGroups = %d, %d, %v", group, meta, ok)
	}
}
