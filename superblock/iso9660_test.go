package superblock

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
		want PVD
	}{
		{"created", pvdSector("CD001", "SANDBOX", "2026112602550000", ""), true, PVD{"SANDBOX", "2026-11-26-02-55-00-00"}},
		{"both", pvdSector("CD001", "SANDBOX", "2026112602550000", "2026112602550000"), true, PVD{"SANDBOX", "2026-11-26-02-55-00-00"}},
		{"modified wins", pvdSector("CD001", "X", "2020010100000000", "2026112602550099"), true, PVD{"X", "2026-11-26-02-55-00-99"}},
		{"zeros", pvdSector("CD001", "OLD", "0000000000000000", "0000000000000000"), true, PVD{"OLD", ""}},
		{"not digits", pvdSector("CD001", "OLD", "2026-11-26-02-55", ""), true, PVD{"OLD", ""}},
		{"long label", pvdSector("CD001", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "2026112602550000", ""), true, PVD{"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "2026-11-26-02-55-00-00"}},
		{"not ISO 9660", pvdSector("CD002", "SANDBOX", "2026112602550000", ""), false, PVD{}},
		{"zeros sector", make([]byte, 2048), false, PVD{}},
		{"short", pvdSector("CD001", "SANDBOX", "2026112602550000", "")[:1024], false, PVD{}},
	} {
		got, ok := ParsePVD(tc.b)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: ParsePVD = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	b := pvdSector("CD001", "SANDBOX", "2026112602550000", "")
	b[0] = 2 // a supplementary descriptor, not the primary one
	if _, ok := ParsePVD(b); ok {
		t.Errorf("a type 2 descriptor parsed as the primary one")
	}
}

// A two-session disc as a drive shows it: the first session's descriptors
// at sector 16, the second's from 300+16 (a boot record before its primary
// descriptor). isofs mounts the last session when the drive's
// CDROMMULTISESSION answer flags an XA disc; the label and date checked
// must be that session's.
func TestFindPVDMultiSession(t *testing.T) {
	term := make([]byte, 2048)
	term[0] = 255
	copy(term[1:6], "CD001")
	boot := make([]byte, 2048)
	copy(boot[1:6], "CD001")
	disc := map[int64][]byte{
		16: pvdSector("CD001", "FIRST", "2026010100000000", ""), 17: term,
		316: boot, 317: pvdSector("CD001", "LAST", "2026120600000000", ""), 318: term,
	}
	read := func(sec int64) ([]byte, error) {
		if b, ok := disc[sec]; ok {
			return b, nil
		}
		return make([]byte, 2048), nil
	}
	for _, tc := range []struct {
		name    string
		lba     int32
		xa, ok  bool
		want    string
		wantErr bool
	}{
		{"XA multi-session", 300, true, true, "LAST", false},
		{"not XA: isofs takes the first", 300, false, true, "FIRST", false},
		{"no ioctl (a disk)", 0, false, false, "FIRST", false},
		{"single session", 0, true, true, "FIRST", false},
		{"a session with no descriptors", 500, true, true, "", true},
	} {
		p, ok := FindPVD(read, LastSession(tc.lba, tc.xa, tc.ok))
		if ok == tc.wantErr || p.Label != tc.want {
			t.Errorf("%s: FindPVD = %+v, %v; want label %q", tc.name, p, ok, tc.want)
		}
	}
	// The terminator ends the set: a primary descriptor after it is not one.
	disc[17], disc[18] = term, pvdSector("CD001", "AFTER", "", "")
	delete(disc, 16)
	disc[16] = term
	if p, ok := FindPVD(read, 0); ok {
		t.Errorf("FindPVD read past the terminator: %+v", p)
	}
}
