package dm

import (
	"strings"
	"testing"
)

func TestSnapshot(t *testing.T) {
	// The how-to's table: "0 81920 snapshot /dev/loop0 /dev/ram0 N 1".
	tg, err := Snapshot(81920, "/dev/loop0", "/dev/ram0", "N", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := tg.String(); got != "0 81920 snapshot /dev/loop0 /dev/ram0 N 1" {
		t.Errorf("table = %q", got)
	}
	tg, _ = Snapshot(100, "/dev/sda1", "/dev/sdb", "P", 16)
	if got := tg.String(); got != "0 100 snapshot /dev/sda1 /dev/sdb P 16" {
		t.Errorf("persistent table = %q", got)
	}
	tg, _ = Snapshot(100, "/dev/loop0", "/dev/ram0", "PO", 32)
	if got := tg.String(); got != "0 100 snapshot /dev/loop0 /dev/ram0 PO 32" {
		t.Errorf("overflow table = %q", got)
	}
	if _, err := Snapshot(100, "/dev/loop0", "/dev/ram0", "NO", 32); err == nil {
		t.Errorf("store NO was accepted")
	}
	for _, bad := range []struct {
		sectors     uint64
		origin, cow string
		chunk       uint32
		want        string
	}{
		{0, "/dev/loop0", "/dev/ram0", 8, "empty"},
		{8, "/dev/loop0", "/dev/ram0", 3, "power of two"},
		{8, "/dev/loop0", "/dev/ram0", 0, "power of two"},
		{8, "/dev/loop0", "/dev/loop0", 8, "same device"},
		{8, "/dev/a b", "/dev/ram0", 8, "spaces"},
		{8, "", "/dev/ram0", 8, "origin and a COW"},
	} {
		if _, err := Snapshot(bad.sectors, bad.origin, bad.cow, "N", bad.chunk); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Snapshot(%+v) = %v, want an error with %q", bad, err, bad.want)
		}
	}
}

func TestParseSnapshotStatus(t *testing.T) {
	for in, want := range map[string]SnapshotStatus{
		"8320/481294 0":   {Used: 8320, Total: 481294},
		"16/32768 16\n":   {Used: 16, Total: 32768, Metadata: 16},
		"Invalid":         {Invalid: true},
		"Merge failed":    {Invalid: true},
		"Overflow":        {Overflow: true},
		"32768/32768 128": {Used: 32768, Total: 32768, Metadata: 128},
	} {
		got, err := ParseSnapshotStatus(in)
		if err != nil || got != want {
			t.Errorf("ParseSnapshotStatus(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Unknown", "1/2", "a/2 0", "1/b 0", "1/2 c", "3/2 0", "2/4 3", "1 2 3", "-1/2 0"} {
		if _, err := ParseSnapshotStatus(bad); err == nil {
			t.Errorf("ParseSnapshotStatus(%q) accepted", bad)
		}
	}
	if p := (SnapshotStatus{Used: 25, Total: 100}).Percent(); p != 25 {
		t.Errorf("Percent = %v", p)
	}
	if p := (SnapshotStatus{Invalid: true}).Percent(); p != 100 {
		t.Errorf("invalid Percent = %v", p)
	}
}

func FuzzParseSnapshotStatus(f *testing.F) {
	for _, s := range []string{"8320/481294 0", "Invalid", "Overflow", "1/2", "", "18446744073709551615/18446744073709551615 0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseSnapshotStatus(s)
		if err != nil {
			return
		}
		if p := st.Percent(); p < 0 || p > 100 {
			t.Errorf("%q: percent %v", s, p)
		}
		if !st.Invalid && !st.Overflow {
			again, err := ParseSnapshotStatus(st.String())
			if err != nil || again != st {
				t.Errorf("%q: round trip %q -> %+v, %v", s, st.String(), again, err)
			}
		}
	})
}

func TestGrown(t *testing.T) {
	tb, err := Grown("/dev/loop0", 47104, 262144)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, tg := range tb {
		lines = append(lines, tg.String())
	}
	if got := strings.Join(lines, "\n"); got != "0 47104 linear /dev/loop0 0\n47104 262144 zero " {
		t.Errorf("table:\n%s", got)
	}
	if _, err := Grown("/dev/loop0", 0, 8); err == nil {
		t.Error("an empty origin was accepted")
	}
	if _, err := Grown("/dev/loop0", 8, 0); err == nil {
		t.Error("growing by nothing was accepted")
	}
}

func TestVerity(t *testing.T) {
	v := VerityTable{Data: "/dev/loop0", Hash: "/dev/loop1", DataBlockSize: 4096, HashBlockSize: 4096, DataBlocks: 100,
		HashStartBlock: 1, Algorithm: "sha256", Root: []byte{0xab, 0xcd}, Salt: []byte{0x01}}
	got, err := Verity(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0 800 verity 1 /dev/loop0 /dev/loop1 4096 4096 100 1 sha256 abcd 01"; got.String() != want {
		t.Errorf("got %q, want %q", got, want)
	}
	v.Salt, v.OnCorrupt = nil, "restart"
	if got, _ := Verity(v); !strings.HasSuffix(got.Params, "sha256 abcd - 1 restart_on_corruption") {
		t.Errorf("no salt, restart: %q", got.Params)
	}
	v.OnCorrupt = "panic"
	if got, _ := Verity(v); !strings.HasSuffix(got.Params, " 1 panic_on_corruption") {
		t.Errorf("panic: %q", got.Params)
	}
	for name, edit := range map[string]func(*VerityTable){
		"no hash device": func(v *VerityTable) { v.Hash = "" },
		"space in path":  func(v *VerityTable) { v.Data = "/dev/a b" },
		"block 1000":     func(v *VerityTable) { v.DataBlockSize = 1000 },
		"no blocks":      func(v *VerityTable) { v.DataBlocks = 0 },
		"no root":        func(v *VerityTable) { v.Root = nil },
		"bad action":     func(v *VerityTable) { v.OnCorrupt = "ignore" },
	} {
		w := v
		edit(&w)
		if _, err := Verity(w); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseVerityStatus(t *testing.T) {
	for s, want := range map[string]bool{"V": false, "C": true, " C ": true} {
		if got, err := ParseVerityStatus(s); err != nil || got != want {
			t.Errorf("%q: %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "X", "Invalid"} {
		if _, err := ParseVerityStatus(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
