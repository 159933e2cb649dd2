package blockdev

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixture builds a sysfs tree as the kernel lays it out: devices under
// devices/, dev/block/MAJ:MIN and class/block/NAME as symlinks to them.
type fixture struct {
	t    *testing.T
	root string
}

// disk adds a whole disk; parts are its partitions, each {start, size}.
func (f fixture) disk(name string, major, minor uint32, size uint64, parts ...[2]uint64) string {
	dir := filepath.Join(f.root, "devices/pci0000:00", name, "block", name)
	f.node(dir, name, major, minor, size)
	for i, p := range parts {
		pn := name + string(rune('1'+i))
		pd := filepath.Join(dir, pn)
		f.node(pd, pn, major, minor+uint32(i)+1, p[1])
		f.write(filepath.Join(pd, "partition"), "1")
		f.write(filepath.Join(pd, "start"), itoa(p[0]))
	}
	return dir
}

// virtual adds a device-mapper or loop device over slaves.
func (f fixture) virtual(name string, major, minor uint32, size uint64, backing string, slaves ...string) {
	dir := filepath.Join(f.root, "devices/virtual/block", name)
	f.node(dir, name, major, minor, size)
	if err := os.MkdirAll(filepath.Join(dir, "slaves"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	for _, s := range slaves {
		if err := os.Symlink(filepath.Join(f.root, "class/block", s), filepath.Join(dir, "slaves", s)); err != nil {
			f.t.Fatal(err)
		}
	}
	if backing != "" {
		f.write(filepath.Join(dir, "loop/backing_file"), backing+"\n")
	}
}

func (f fixture) node(dir, name string, major, minor uint32, size uint64) {
	f.write(filepath.Join(dir, "size"), itoa(size))
	f.write(filepath.Join(dir, "dev"), MajMin(Mkdev(major, minor)))
	for _, l := range []string{filepath.Join(f.root, "dev/block", MajMin(Mkdev(major, minor))), filepath.Join(f.root, "class/block", name)} {
		if err := os.MkdirAll(filepath.Dir(l), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.Symlink(dir, l); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f fixture) write(p, s string) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// machine is a stick (vda: a hybrid Live ISO, partitions inside it), a
// scratch disk with two partitions (sda), a CD (sr0), a loop device over a
// file on vda1, a loop over a tmpfs file, and a dm-verity + snapshot stack.
func machine(t *testing.T) Sys {
	f := fixture{t, t.TempDir()}
	f.disk("vda", 254, 0, 2<<20, [2]uint64{0, 1 << 20}, [2]uint64{1 << 20, 1 << 20})
	f.disk("sda", 8, 0, 4<<20, [2]uint64{2048, 1 << 20}, [2]uint64{2048 + 1<<20, 1 << 20})
	f.disk("sr0", 11, 0, 60000)
	f.disk("ram0", 1, 0, 1<<18)
	f.virtual("loop0", 7, 0, 50000, "/run/isodisk/live.iso")
	f.virtual("loop1", 7, 1, 50000, "/run/sandbox/toram/img")
	f.virtual("loop2", 7, 2, 50000, "/cd/initrd-ext2")
	f.virtual("dm-0", 253, 0, 50000, "", "loop2")
	f.virtual("dm-1", 253, 1, 50000, "", "dm-0", "ram0")
	files := map[string]uint64{
		"/run/isodisk/live.iso":  Mkdev(254, 1), // on vda1
		"/run/sandbox/toram/img": Mkdev(0, 22),  // tmpfs
		"/cd/initrd-ext2":        Mkdev(11, 0),  // on the CD
	}
	return Sys{Root: f.root, FileDev: func(p string) (uint64, error) {
		d, ok := files[p]
		if !ok {
			return 0, errors.New("no such file")
		}
		return d, nil
	}}
}

func TestRelations(t *testing.T) {
	s := machine(t)
	for _, tc := range []struct {
		name    string
		a, b    uint64
		overlap bool
	}{
		{"disk and its partition", Mkdev(254, 0), Mkdev(254, 1), true},
		{"partition and itself", Mkdev(8, 1), Mkdev(8, 1), true},
		{"sibling partitions", Mkdev(8, 1), Mkdev(8, 2), false},
		{"other disks", Mkdev(8, 0), Mkdev(254, 0), false},
		{"loop over a file on the disk's partition", Mkdev(254, 0), Mkdev(7, 0), true},
		{"loop over a file on that partition", Mkdev(254, 1), Mkdev(7, 0), true},
		{"loop over a file on the sibling partition", Mkdev(254, 2), Mkdev(7, 0), false},
		{"loop over a tmpfs file", Mkdev(254, 0), Mkdev(7, 1), false},
		{"snapshot over verity over loop over the CD", Mkdev(11, 0), Mkdev(253, 1), true},
		{"snapshot and its RAM COW", Mkdev(1, 0), Mkdev(253, 1), true},
		{"snapshot and a scratch disk", Mkdev(8, 0), Mkdev(253, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := s.Extents(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Extents(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			x, y, got := Overlap(a, b)
			if got != tc.overlap {
				t.Errorf("overlap of %v and %v = %v (%v, %v), want %v", a, b, got, x, y, tc.overlap)
			}
		})
	}
}

func TestExtentsErrors(t *testing.T) {
	s := machine(t)
	if _, err := s.Extents(Mkdev(9, 9)); err == nil {
		t.Error("a device sysfs does not have: no error")
	}
	s.FileDev = func(string) (uint64, error) { return 0, errors.New("gone") }
	if _, err := s.Extents(Mkdev(7, 0)); err == nil || !strings.Contains(err.Error(), "live.iso") {
		t.Errorf("a backing file that cannot be looked at: %v, want an error naming it", err)
	}
}

func TestDeviceNumbers(t *testing.T) {
	for _, d := range [][2]uint32{{8, 1}, {259, 0}, {7, 300}, {4095, 1048575}} {
		dev := Mkdev(d[0], d[1])
		if Major(dev) != d[0] || Minor(dev) != d[1] {
			t.Errorf("Mkdev(%d, %d) splits into %d:%d", d[0], d[1], Major(dev), Minor(dev))
		}
		if back, err := ParseMajMin(MajMin(dev)); err != nil || back != dev {
			t.Errorf("ParseMajMin(%q) = %v, %v", MajMin(dev), back, err)
		}
	}
	for _, bad := range []string{"", "8", "8:", ":1", "a:b", "8:1:2"} {
		if _, err := ParseMajMin(bad); err == nil {
			t.Errorf("ParseMajMin(%q): no error", bad)
		}
	}
}

func TestMounts(t *testing.T) {
	info := `22 1 0:21 / /proc rw - proc proc rw
30 1 11:0 / /cd ro,relatime - iso9660 /dev/sr0 ro
31 1 254:1 / /run/sandbox/iso\040disk ro - vfat /dev/vda1 ro
32 1 7:3 / /run/live rw - squashfs /dev/loop3 ro
garbage line
`
	got := Mounts(info)
	want := []Mount{
		{Mkdev(11, 0), "/cd", "/dev/sr0"},
		{Mkdev(254, 1), "/run/sandbox/iso disk", "/dev/vda1"},
		{Mkdev(7, 3), "/run/live", "/dev/loop3"},
	}
	if len(got) != len(want) {
		t.Fatalf("Mounts = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mount %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func FuzzMounts(f *testing.F) {
	f.Add("30 1 11:0 / /cd ro - iso9660 /dev/sr0 ro\n")
	f.Add(`1 2 8:1 / /a\134b\0 rw - ext4 /dev/sda1 rw`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range Mounts(s) {
			if Major(m.Dev) == 0 {
				t.Errorf("a device-less mount listed: %+v", m)
			}
		}
	})
}
