package config

import "testing"

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "0 KiB"},
		{512 << 10, "512 KiB"},
		{1<<20 - 1, "1023 KiB"},
		{1 << 20, "1.0 MiB"},
		{3565158, "3.4 MiB"},
		{10 << 20, "10 MiB"},
		{12<<20 + 900<<10, "12 MiB"},
		{5 << 30, "5120 MiB"},
	} {
		if got := HumanBytes(tc.n); got != tc.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
