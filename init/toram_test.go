package main

import (
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
)

func TestToramDecision(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		mode                    config.Tristate
		image, tree, cow, avail uint64
		copy, fail              bool
	}{
		{config.No, 10 * mib, 0, 0, 4096 * mib, false, false},
		{config.Yes, 100 * mib, 0, 256 * mib, 1024 * mib, true, false},     // 868 MiB needed
		{config.AutoYes, 100 * mib, 0, 256 * mib, 1024 * mib, true, false}, // the same rule
		{config.Yes, 100 * mib, 0, 256 * mib, 800 * mib, false, true},      // does not fit: fail
		{config.AutoYes, 100 * mib, 0, 256 * mib, 800 * mib, false, false}, // does not fit: the medium
		{config.AutoYes, 100 * mib, 0, 0, 700 * mib, true, false},          // a disk COW takes no RAM
		{config.Yes, 20 * mib, 2 * mib, 256 * mib, 790 * mib, true, false},
		{config.Yes, 30 * mib, 12 * mib, 256 * mib, 800 * mib, false, true}, // the hash tree tips it over
	} {
		copyIt, fail, why := toramDecision(tc.mode, tc.image, tc.tree, tc.cow, tc.avail)
		if copyIt != tc.copy || fail != tc.fail {
			t.Errorf("toramDecision(%s, %d, %d, %d MiB) = copy %v fail %v (%s)", tc.mode, tc.image/mib, tc.cow/mib, tc.avail/mib, copyIt, fail, why)
		}
		if !copyIt && tc.mode != config.No && !strings.Contains(why, "more than the 800 MiB of RAM available") {
			t.Errorf("the reason does not give the numbers: %q", why)
		}
		if !copyIt && tc.tree > 0 && !strings.Contains(why, "its hash tree (12 MiB)") {
			t.Errorf("the reason does not count the hash tree: %q", why)
		}
	}
}
