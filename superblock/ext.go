package superblock

import (
	"encoding/binary"
	"fmt"
)

// readExt takes ext2/3/4's s_volume_name and s_uuid (superblock at 1024).
func readExt(b []byte, v *Volume) {
	if len(b) < 1024+136 {
		return
	}
	u := b[1024+104 : 1024+120]
	if !allZero(u) {
		v.UUID = fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	}
	v.Label = cString(b[1024+120 : 1024+136])
}

// ExtSpace reads an ext2/3/4 superblock (b: the device's first bytes, at
// least 2 KiB) for its block size, its size and the space free to users
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
