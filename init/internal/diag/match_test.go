package diag

import (
	"regexp"
	"testing"
)

// TestMatchersAgreeWithRegexps checks the hand matchers against the
// patterns they replace, on the kernel's lines and near misses.
func TestMatchersAgreeWithRegexps(t *testing.T) {
	corrupt := regexp.MustCompile(`verity: [0-9]+:[0-9]+: (data|metadata) block ([0-9]+) is corrupted`)
	ioErr := regexp.MustCompile(`I/O error, dev ([a-z0-9]+), sector [0-9]+`)
	invalidating := regexp.MustCompile(`Invalidating snapshot: (.*)`)
	for _, line := range []string{
		"device-mapper: verity: 7:1: data block 12 is corrupted",
		"device-mapper: verity: 253:0: metadata block 3 is corrupted",
		"device-mapper: verity: 7:1: data block  12 is corrupted",
		"device-mapper: verity: 7:: data block 12 is corrupted",
		"device-mapper: verity: x verity: 7:1: data block 5 is corrupted",
		"device-mapper: verity: 7:1: data block 12 is corrupt",
		"verity: 7:1: datablock 12 is corrupted",
		"I/O error, dev loop2, sector 16288 op 0x0:(READ) flags 0x80700",
		"blk_update_request: I/O error, dev sr0, sector 64",
		"I/O error, dev , sector 64",
		"I/O error, dev sda1, sector x; I/O error, dev sdb, sector 9",
		"I/O error, dev Sda, sector 8",
		"device-mapper: snapshots: Invalidating snapshot: Unable to allocate exception.",
		"Invalidating snapshot: ",
		"Invalidating snapshot:",
		"Buffer I/O error on device dm-1, logical block 1882",
		"",
	} {
		m := corrupt.FindStringSubmatch(line)
		what, block, ok := corruptLine(line)
		if (m != nil) != ok || ok && (m[1] != what || m[2] != block) {
			t.Errorf("corruptLine(%q) = %q, %q, %v; the regexp: %q", line, what, block, ok, m)
		}
		m = ioErr.FindStringSubmatch(line)
		got, ok := ioErrorLine(line)
		if (m != nil) != ok || ok && m[0] != got {
			t.Errorf("ioErrorLine(%q) = %q, %v; the regexp: %q", line, got, ok, m)
		}
		m = invalidating.FindStringSubmatch(line)
		why, ok := invalidatingLine(line)
		if (m != nil) != ok || ok && m[1] != why {
			t.Errorf("invalidatingLine(%q) = %q, %v; the regexp: %q", line, why, ok, m)
		}
	}
}
