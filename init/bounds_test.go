package main

import (
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
)

func TestCheckChunkMemory(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		store config.StoreType
		chunk uint32
		avail uint64
		want  string // "" for accepted, else a part of the message
	}{
		{config.StorePO, 32, 700 * mib, ""},
		{config.StoreN, 2097152, 700 * mib, ""}, // the transient store keeps no chunk buffers
		{config.StorePO, 2097152, 700 * mib, "sandbox.chunk=2097152 (1024 MiB a chunk): the snapshot's store keeps 3 chunks in kernel memory (3072 MiB), more than a quarter of the 700 MiB of RAM available; the largest chunk this machine takes is sandbox.chunk=65536"},
		{config.StorePO, 65536, 700 * mib, ""},
		{config.StorePO, 131072, 700 * mib, "the largest chunk this machine takes is sandbox.chunk=65536"},
		{config.StorePO, 2, 1024, "the largest chunk this machine takes is sandbox.chunk=1"},
	} {
		err := checkChunkMemory(tc.store, tc.chunk, tc.avail)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s chunk %d, %d available: %v", tc.store, tc.chunk, tc.avail, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s chunk %d, %d available: %v, want %q", tc.store, tc.chunk, tc.avail, err, tc.want)
		}
	}
}

func TestCapCOWSize(t *testing.T) {
	const mem = 768 << 20
	for _, tc := range []struct {
		kind      config.COWStore
		want, got uint64
		why       string
	}{
		{config.COWRAM, 384 << 20, 384 << 20, ""},
		{config.COWRAM, mem, mem, ""},
		{config.COWRAM, 100 << 30, mem, "sandbox.cowsize asks for a ram0 store of 102400 MiB, more than the RAM (768 MiB): capped to 768 MiB"},
		{config.COWZRAM, 1 << 30, 1 << 30, ""},
		{config.COWZRAM, 4 << 30, 2 * mem, "more than twice the RAM (zram's 2:1 compression) (768 MiB): capped to 1536 MiB"},
	} {
		got, why := capCOWSize(tc.kind, tc.want, mem)
		if got != tc.got || !strings.Contains(why, tc.why) || (tc.why == "") != (why == "") {
			t.Errorf("capCOWSize(%s, %d) = %d, %q; want %d, %q", tc.kind, tc.want, got, why, tc.got, tc.why)
		}
	}
}

func TestCapGrowTarget(t *testing.T) {
	const mib = 1 << 20
	group, meta := uint64(128*mib), uint64(2*mib+8192) // 8192 inodes of 256 bytes
	for _, tc := range []struct {
		target, size, cow, got uint64
		capped                 bool
	}{
		{0, 100 * mib, 400 * mib, 0, false},                   // no growth asked
		{1024 * mib, 100 * mib, 400 * mib, 1024 * mib, false}, // 8 groups, 16 MiB of 100 allowed
		{1 << 40, 100 * mib, 400 * mib, 100*mib + 49*group, true},
		{1 << 30, 100 * mib, 4 * mib, 100 * mib, true}, // not one group's metadata fits
	} {
		got, why := capGrowTarget(tc.target, tc.size, group, meta, tc.cow)
		if got != tc.got || (why != "") != tc.capped {
			t.Errorf("capGrowTarget(%d, %d, cow %d) = %d, %q; want %d, capped %v", tc.target, tc.size, tc.cow, got, why, tc.got, tc.capped)
		}
		if got > tc.size && (got-tc.size+group-1)/group*meta > tc.cow/growShare {
			t.Errorf("capGrowTarget(%d): %d leaves more metadata than a quarter of the store", tc.target, got)
		}
	}
	if n := snapshotHeaderBytes(512); n != 4096 {
		t.Errorf("snapshot header on 512-byte blocks: %d bytes", n)
	}
	if n := snapshotHeaderBytes(8192); n != 8192 {
		t.Errorf("snapshot header on 8 KiB blocks: %d bytes", n)
	}
}
