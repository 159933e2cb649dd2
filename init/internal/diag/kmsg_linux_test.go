package diag

import (
	"strings"
	"testing"
)

func TestCorruptBlocks(t *testing.T) {
	log := "device-mapper: verity: 7:1: data block 12 is corrupted\n" +
		"Buffer I/O error on dev dm-1, logical block 12\n" +
		"device-mapper: verity: 7:1: data block 12 is corrupted\n" +
		"device-mapper: verity: 7:1: metadata block 3 is corrupted\n"
	seen := map[string]bool{}
	if got := CorruptBlocks(log, seen); strings.Join(got, ",") != "data block 12,metadata block 3" {
		t.Errorf("got %q", got)
	}
	// A later read of the log names only new blocks.
	if got := CorruptBlocks(log+"device-mapper: verity: 7:1: data block 99 is corrupted\n", seen); strings.Join(got, ",") != "data block 99" {
		t.Errorf("second look: %q", got)
	}
}
