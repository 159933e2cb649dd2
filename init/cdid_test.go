package main

import "testing"

// pvdSector builds a synthetic sector 16.
func pvdSector(magic, label, created, modified string) []byte {
	b := make([]byte, 2048)
	b[0] = 1
	copy(b[1:6], magic)
	for i := 40; i < 72; i++ {
		b[i] = ' '
	}
	copy(b[40:72], label)
	copy(b[813:829], created)
	copy(b[830:846], modified)
	return b
}

func TestParsePVD(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
		want isoPVD
	}{
		{"created", pvdSector("CD001", "SANDBOX", "2026112602550000", ""), true, isoPVD{"SANDBOX", "2026-11-26-02-55-00-00"}},
		{"both", pvdSector("CD001", "SANDBOX", "2026112602550000", "2026112602550000"), true, isoPVD{"SANDBOX", "2026-11-26-02-55-00-00"}},
		{"modified wins", pvdSector("CD001", "X", "2020010100000000", "2026112602550099"), true, isoPVD{"X", "2026-11-26-02-55-00-99"}},
		{"zeros", pvdSector("CD001", "OLD", "0000000000000000", "0000000000000000"), true, isoPVD{"OLD", ""}},
		{"not digits", pvdSector("CD001", "OLD", "2026-11-26-02-55", ""), true, isoPVD{"OLD", ""}},
		{"long label", pvdSector("CD001", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "2026112602550000", ""), true, isoPVD{"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "2026-11-26-02-55-00-00"}},
		{"not ISO 9660", pvdSector("CD002", "SANDBOX", "2026112602550000", ""), false, isoPVD{}},
		{"zeros sector", make([]byte, 2048), false, isoPVD{}},
		{"short", pvdSector("CD001", "SANDBOX", "2026112602550000", "")[:1024], false, isoPVD{}},
	} {
		got, ok := parsePVD(tc.b)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: parsePVD = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	b := pvdSector("CD001", "SANDBOX", "2026112602550000", "")
	b[0] = 2 // a supplementary descriptor, not the primary one
	if _, ok := parsePVD(b); ok {
		t.Errorf("a type 2 descriptor parsed as the primary one")
	}
}
