package main

import "testing"

func TestVolumeMatches(t *testing.T) {
	fat := volume{FS: "vfat", Label: "STICK", UUID: "1234-ABCD"}
	ext := volume{FS: "ext4", Label: "Stick", UUID: "3e6be9de-8139-4a2f-9c44-010203040506"}
	none := volume{}
	for _, tc := range []struct {
		v    volume
		want string
		ok   bool
	}{
		{fat, "LABEL=STICK", true},
		{fat, "LABEL=stick", true}, // FAT compares names in either case
		{fat, "LABEL=OTHER", false},
		{fat, "UUID=1234-abcd", true},
		{fat, "UUID=1234-ABCE", false},
		{ext, "LABEL=Stick", true},
		{ext, "LABEL=STICK", false}, // ext4's labels are exact
		{ext, "UUID=3E6BE9DE-8139-4A2F-9C44-010203040506", true},
		{none, "UUID=", false},
		{none, "LABEL=", false},
		{fat, "", true},
		{none, "/dev/sdb1", true},
	} {
		if got := matches(tc.v, ref(tc.want)); got != tc.ok {
			t.Errorf("%v matches %q = %v, want %v", tc.v, tc.want, got, tc.ok)
		}
	}
}
