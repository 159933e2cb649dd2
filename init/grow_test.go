package main

import "testing"

func TestGrowTarget(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		mode             string
		size, avail, cow uint64
		want             uint64
	}{
		{"no", 24 * mib, 18 * mib, 256 * mib, 0},
		{"auto", 4096 * mib, 3700 * mib, 256 * mib, 0},                      // room enough
		{"auto", 24 * mib, 18 * mib, 256 * mib, (24 + 238 + 24 + 16) * mib}, // 238 missing, +23.8 rounded up
		{"2G", 24 * mib, 18 * mib, 256 * mib, 2048 * mib},
		{"16M", 24 * mib, 18 * mib, 256 * mib, 0}, // never shrinks
	} {
		if got := growTarget(tc.mode, tc.size, tc.avail, tc.cow); got != tc.want {
			t.Errorf("growTarget(%s, %d, %d, %d MiB) = %d MiB, want %d MiB", tc.mode, tc.size/mib, tc.avail/mib, tc.cow/mib, got/mib, tc.want/mib)
		}
	}
}
