package diag

import "testing"

func TestInvalidCause(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		full      bool
		cause     string
	}{
		{"Verity", "device-mapper: verity: 7:0: data block 1881 is corrupted\n" +
			"device-mapper: verity: 7:0: data block 1881 is corrupted\n" +
			"device-mapper: snapshots: Invalidating snapshot: Error reading/writing.\n" +
			"Buffer I/O error on device dm-1, logical block 1882\n",
			false, "data block 1881 failed dm-verity's check"},
		{"Container", "SQUASHFS error: Failed to read block 0x41c8a3: -5\n" +
			"I/O error, dev loop2, sector 16288 op 0x0:(READ) flags 0x80700 phys_seg 32 prio class 2\n" +
			"I/O error, dev loop2, sector 16384 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2\n" +
			"device-mapper: snapshots: Invalidating snapshot: Error reading/writing.\n",
			false, "I/O error, dev loop2, sector 16288; I/O error, dev loop2, sector 16384"},
		{"Full", "I/O error, dev sr0, sector 64 op 0x0:(READ)\n" +
			"device-mapper: snapshots: Invalidating snapshot: Unable to allocate exception.\n", true, "the COW store is full"},
		{"NoReadError", "device-mapper: snapshots: Invalidating snapshot: Error reading/writing.\n", false, "Error reading/writing"},
		{"None", "I/O error, dev sr0, sector 64 op 0x0:(READ)\n", false, ""},
	} {
		full, cause := InvalidCause(tc.log)
		if full != tc.full || cause != tc.cause {
			t.Errorf("%s: InvalidCause = %v, %q; want %v, %q", tc.name, full, cause, tc.full, tc.cause)
		}
	}
}
