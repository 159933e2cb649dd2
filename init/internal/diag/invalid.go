// Package diag reads what the kernel says of the sandbox's devices: the
// verity device's name, the blocks dm-verity found corrupted, and why
// dm-snapshot invalidated the snapshot, from the kernel's log. The boot's
// failure report, the COW watcher, status and the shutdown share it.
package diag

import "strings"

// The kernel's lines that tell why dm-snapshot invalidated a snapshot
// (invalidatingLine): its own ("Invalidating snapshot: Unable to allocate
// exception." when the store is full, "Error reading/writing." when a
// chunk's copy failed), and the read errors under it: dm-verity's refusal
// of a block (corruptLine), a block device's I/O error (ioErrorLine: a
// loop device over a damaged squashfs block, a scratched disc).

// InvalidCause reads, from kernel log lines (oldest first), why the
// snapshot was invalidated: full when its COW store filled, else cause
// names the failed reads of the base logged before it (at most three);
// cause is "" when the log holds no invalidation (any more).
func InvalidCause(log string) (full bool, cause string) {
	var errs []string
	found := false
	for _, line := range strings.Split(log, "\n") {
		if e, ok := readError(line); ok {
			errs = append(errs, e)
		}
		why, ok := invalidatingLine(line)
		if !ok {
			continue
		}
		found = true
		full = strings.Contains(why, "Unable to allocate exception")
		switch {
		case full:
			cause = "the COW store is full"
		case len(errs) > 0:
			cause = strings.Join(lastDistinct(errs, 3), "; ")
		default:
			cause = strings.TrimSuffix(why, ".") // the kernel's words
		}
		errs = nil
	}
	if !found {
		return false, ""
	}
	return full, cause
}

// readError words a line's read error: dm-verity's refused block, else a
// device's I/O error as the kernel put it.
func readError(line string) (string, bool) {
	if what, block, ok := corruptLine(line); ok {
		return what + " block " + block + " failed dm-verity's check", true
	}
	return ioErrorLine(line)
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
