package main

import (
	"strings"
	"testing"
)

func TestAutoChunk(t *testing.T) {
	for _, tc := range []struct {
		fsBlock, cowBlock uint64
		want              uint32
	}{
		{4096, 512, 8},    // mklive's ext2/ext4 over brd
		{1024, 512, 2},    // a small ext2 of mke2fs's "small" type
		{4096, 4096, 8},   // zram
		{1024, 4096, 8},   // zram under 1 KiB blocks: at least its sector (the mount then says why it fails)
		{0, 512, 8},       // not ext: 4 KiB
		{65536, 512, 128}, // 64 KiB blocks
		{3000, 512, 8},    // not a power of two: a broken superblock, the fallback
	} {
		if got := autoChunk(tc.fsBlock, tc.cowBlock); got != tc.want {
			t.Errorf("autoChunk(%d, %d) = %d, want %d", tc.fsBlock, tc.cowBlock, got, tc.want)
		}
	}
}

func TestChunkWarning(t *testing.T) {
	if w := chunkWarning(32, 4096); !strings.Contains(w, "sandbox.chunk=32 (16 KiB) is larger than the root file system's 4096-byte blocks") || !strings.Contains(w, "INVALIDATES") {
		t.Errorf("chunk 32 over 4 KiB blocks: %q", w)
	}
	for _, ok := range []struct {
		chunk   uint32
		fsBlock uint64
	}{{8, 4096}, {2, 4096}, {32, 0}} {
		if w := chunkWarning(ok.chunk, ok.fsBlock); w != "" {
			t.Errorf("chunkWarning(%d, %d) = %q, want none", ok.chunk, ok.fsBlock, w)
		}
	}
}
