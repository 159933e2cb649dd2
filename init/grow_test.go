package main

import (
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
)

func TestGrowTarget(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		mode             config.Grow
		size, avail, cow uint64
		want             uint64
	}{
		{config.Grow{}, 24 * mib, 18 * mib, 256 * mib, 0},
		{config.Grow{Auto: true}, 4096 * mib, 3700 * mib, 256 * mib, 0},                      // room enough
		{config.Grow{Auto: true}, 24 * mib, 18 * mib, 256 * mib, (24 + 238 + 24 + 16) * mib}, // 238 missing, +23.8 rounded up
		{config.Grow{To: 2 << 30}, 24 * mib, 18 * mib, 256 * mib, 2048 * mib},
		{config.Grow{To: 16 * mib}, 24 * mib, 18 * mib, 256 * mib, 0}, // never shrinks
	} {
		if got := growTarget(tc.mode, tc.size, tc.avail, tc.cow); got != tc.want {
			t.Errorf("growTarget(%s, %d, %d, %d MiB) = %d MiB, want %d MiB", tc.mode, tc.size/mib, tc.avail/mib, tc.cow/mib, got/mib, tc.want/mib)
		}
	}
}
