package main

import (
	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/mountutil"
)

// chooseChunk sets the snapshot's chunk size (sandbox.chunk=auto: see
// autoChunk) from the file system on origin and the COW device cow, or
// warns when a given chunk is larger than the file system's blocks.
func chooseChunk(s *sandbox, origin, cow string) {
	var fsBlock uint64
	// The superblock only: ext2/3/4's is in the first 2 KiB.
	if b, err := readStart(origin, 2048); err == nil {
		if bs, _, _, ok := mountutil.ExtSpace(b); ok {
			fsBlock = bs
		}
	}
	if s.cfg.Chunk != 0 {
		if w := chunkWarning(s.cfg.Chunk, fsBlock); w != "" {
			s.log.Warnf("%s", w)
		}
		return
	}
	var cowBlock uint64
	if bs, err := mountutil.LogicalBlockSize(cow); err == nil && bs > 0 {
		cowBlock = uint64(bs)
	}
	s.cfg.Chunk = autoChunk(fsBlock, cowBlock)
	why := "the root file system's block"
	if fsBlock == 0 {
		why = "4 KiB: the root's file system is not ext2/3/4"
	}
	// (A COW device with sectors larger than the file system's blocks
	// makes the mount fail, with its own hint.)
	s.log.Printf("snapshot chunk: %d sectors (%s, %s): every write covers whole chunks, so a damaged block of the medium is never copied", s.cfg.Chunk, config.HumanBytes(uint64(s.cfg.Chunk)*512), why)
}
