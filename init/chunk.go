package main

import (
	"fmt"

	"github.com/sandbox-init/sandbox-init/config"
)

// fallbackChunk is the automatic chunk, in sectors, when the root holds no
// file system whose block size sandbox-init reads: 4 KiB, the page size,
// which is the block of mklive's images and of most file systems.
const fallbackChunk = 8

// autoChunk is the snapshot's chunk size, in sectors, when sandbox.chunk
// is not given: the root file system's block size (fsBlock bytes, 0 when
// unknown), at least the COW device's logical block (cowBlock bytes).
//
// Why the file system's block: dm-snapshot copies a chunk from the origin
// before the first write into it, unless the write covers the whole chunk.
// A failed copy (a damaged block of the medium, a block dm-verity refuses)
// invalidates the whole snapshot: every read of / fails. The file system
// writes whole blocks, so with chunk = block no write ever needs a copy,
// and a damaged block costs only the reads of that block (in a squashfs
// container, of its compressed block).
func autoChunk(fsBlock, cowBlock uint64) uint32 {
	n := uint64(fallbackChunk)
	if fsBlock >= 512 && fsBlock&(fsBlock-1) == 0 {
		n = fsBlock / 512
	}
	if c := cowBlock / 512; c > n {
		n = c
	}
	return uint32(n)
}

// chunkWarning is the warning for a chunk (sectors) larger than the root
// file system's block (bytes), or "".
func chunkWarning(chunk uint32, fsBlock uint64) string {
	if fsBlock == 0 || uint64(chunk)*512 <= fsBlock {
		return ""
	}
	return fmt.Sprintf("WARNING: sandbox.chunk=%d (%s) is larger than the root file system's %d-byte blocks: "+
		"a write beside a damaged block of the medium makes the kernel copy it, and the failed copy INVALIDATES the whole sandbox "+
		"(every read of / fails); sandbox.chunk=auto (the default) takes the file system's block", chunk, config.HumanBytes(uint64(chunk)*512), fsBlock)
}
