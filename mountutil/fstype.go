package mountutil

import (
	"bytes"
	"encoding/binary"
)

// FSProbeBytes is how much of a device FSType needs to see: the farthest
// magic it reads is btrfs's, at 64 KiB.
const FSProbeBytes = 64<<10 + 4096

// FSType names the file system whose superblock starts b (the first
// FSProbeBytes of a device), as the kernel's mount(2) calls it, or "" when
// none of these is there. The ext2/ext3/ext4 family is "ext4": Debian's and
// most kernels mount all three with the ext4 driver. It reads magics only,
// as blkid does, so an unknown device costs one read and no mount attempt.
func FSType(b []byte) string {
	le32 := func(off int) uint32 {
		if len(b) < off+4 {
			return 0
		}
		return binary.LittleEndian.Uint32(b[off:])
	}
	at := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && bytes.Equal(b[off:off+len(magic)], []byte(magic))
	}
	switch {
	case len(b) >= 1082 && binary.LittleEndian.Uint16(b[1080:]) == 0xEF53:
		return "ext4"
	case at(0, "hsqs"):
		return "squashfs"
	case le32(1024) == 0xE0F5E1E2:
		return "erofs"
	case at(0, "XFSB"):
		return "xfs"
	case at(65536+64, "_BHRfS_M"):
		return "btrfs"
	case le32(1024) == 0xF2F52010:
		return "f2fs"
	case le32(0) == 0x28CD3D45:
		return "cramfs"
	case at(0, "-rom1fs-"):
		return "romfs"
	case at(32769, "CD001"):
		return "iso9660"
	case at(3, "EXFAT   "):
		return "exfat"
	case len(b) >= 512 && b[510] == 0x55 && b[511] == 0xAA && (at(54, "FAT") || at(82, "FAT32")):
		return "vfat"
	}
	return ""
}

// ExtGroups reads an ext2/3/4 superblock for the length of a block group
// and the metadata each group brings (its inode table and two bitmaps), in
// bytes: what growing the file system by a group writes besides data.
func ExtGroups(b []byte) (group, meta uint64, ok bool) {
	bs, _, _, ok := ExtSpace(b)
	if !ok {
		return 0, 0, false
	}
	sb := b[1024:]
	blocksPerGroup := uint64(binary.LittleEndian.Uint32(sb[0x20:]))
	inodesPerGroup := uint64(binary.LittleEndian.Uint32(sb[0x28:]))
	inodeSize := uint64(128) // revision 0 has no s_inode_size
	if binary.LittleEndian.Uint32(sb[0x4C:]) > 0 {
		inodeSize = uint64(binary.LittleEndian.Uint16(sb[0x58:]))
	}
	if blocksPerGroup == 0 || inodeSize == 0 {
		return 0, 0, false
	}
	return blocksPerGroup * bs, inodesPerGroup*inodeSize + 2*bs, true
}

// ExtSpace reads an ext2/3/4 superblock (b: the device's first
// FSProbeBytes) for its block size, its size and the space free to users
// (free blocks less the reserved ones), in bytes; ok is false for anything
// else.
func ExtSpace(b []byte) (blockSize, size, avail uint64, ok bool) {
	if FSType(b) != "ext4" || len(b) < 1024+0x160 {
		return 0, 0, 0, false
	}
	sb := b[1024:]
	u32 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(sb[off:])) }
	blocks, reserved, free := u32(0x04), u32(0x08), u32(0x0C)
	if u32(0x60)&0x80 != 0 { // INCOMPAT_64BIT: the high halves count
		blocks |= u32(0x150) << 32
		reserved |= u32(0x154) << 32
		free |= u32(0x158) << 32
	}
	logSize := u32(0x18)
	if logSize > 6 { // 64 KiB blocks at most
		return 0, 0, 0, false
	}
	blockSize = 1024 << logSize
	if free > reserved {
		avail = (free - reserved) * blockSize
	}
	return blockSize, blocks * blockSize, avail, true
}
