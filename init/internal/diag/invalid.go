// Package diag reads what the kernel says of the sandbox's devices: the
// verity device's name, the blocks dm-verity found corrupted, and why
// dm-snapshot invalidated the snapshot, from the kernel's log. The boot's
// failure report, the COW watcher, status and the shutdown share it.
package diag

import (
	"regexp"
	"strings"
	"sync"
)

// The kernel's lines that tell why dm-snapshot invalidated a snapshot:
// its own ("Invalidating snapshot: Unable to allocate exception." when the
// store is full, "Error reading/writing." when a chunk's copy failed), and
// the read errors under it: dm-verity's refusal of a block, a block
// device's I/O error (a loop device over a damaged squashfs block, a
// scratched disc). Compiled at their first use, not at the start of the
// boot: under emulation (QEMU TCG) the regexp compiler's first run is
// dear, and a boot that goes well never needs them.
var (
	invalidatingLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Invalidating snapshot: (.*)`) })
	readErrorLines   = sync.OnceValue(func() []*regexp.Regexp {
		return []*regexp.Regexp{corruptLine(), regexp.MustCompile(`I/O error, dev ([a-z0-9]+), sector [0-9]+`)}
	})
)

// InvalidCause reads, from kernel log lines (oldest first), why the
// snapshot was invalidated: full when its COW store filled, else cause
// names the failed reads of the base logged before it (at most three);
// cause is "" when the log holds no invalidation (any more).
func InvalidCause(log string) (full bool, cause string) {
	var errs []string
	found := false
	for _, line := range strings.Split(log, "\n") {
		for _, re := range readErrorLines() {
			if m := re.FindStringSubmatch(line); m != nil {
				errs = append(errs, readError(m))
			}
		}
		m := invalidatingLine().FindStringSubmatch(line)
		if m == nil {
			continue
		}
		found = true
		full = strings.Contains(m[1], "Unable to allocate exception")
		switch {
		case full:
			cause = "the COW store is full"
		case len(errs) > 0:
			cause = strings.Join(lastDistinct(errs, 3), "; ")
		default:
			cause = strings.TrimSuffix(m[1], ".") // the kernel's words
		}
		errs = nil
	}
	if !found {
		return false, ""
	}
	return full, cause
}

// readError words a match of readErrorLines.
func readError(m []string) string {
	if len(m) == 3 { // corruptLine: what, block number
		return m[1] + " block " + m[2] + " failed dm-verity's check"
	}
	return m[0]
}

// lastDistinct is the last n distinct strings of s, in order.
func lastDistinct(s []string, n int) []string {
	var out []string
	seen := map[string]bool{}
	for i := len(s) - 1; i >= 0 && len(out) < n; i-- {
		if !seen[s[i]] {
			seen[s[i]] = true
			out = append([]string{s[i]}, out...)
		}
	}
	return out
}
