package vmtests

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/mklive"
)

// cdWith makes a data CD whose /initrd-ext2 holds the given bytes.
func cdWith(t *testing.T, image []byte) string {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "initrd-ext2")
	if err := os.WriteFile(img, image, 0o644); err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(dir, "cd.iso")
	if err := dataISO(iso, "FAULT", map[string]string{"initrd-ext2": img}); err != nil {
		t.Fatal(err)
	}
	return iso
}

// expectFailure boots and checks the failure report: phase, the lines that
// must be there, the action taken, no panic, no real init.
func expectFailure(t *testing.T, v vm, phase string, expect ...string) console {
	t.Helper()
	// The report says "the base image was not written to": every image
	// the machine had, but the scratch disks named, must prove it.
	before := map[string]string{}
	for _, f := range mediaFiles(v) {
		before[f] = sha256File(t, f)
	}
	defer func() {
		for f, h := range before {
			if now := sha256File(t, f); now != h {
				t.Errorf("the report says the base image was not written to, but %s changed: sha256 %s before the boot, %s after", f, h, now)
			}
		}
	}()
	c := bootVM(t, v)
	for _, want := range append([]string{
		`sandbox-init: FAILED in phase "` + phase + `"`,
		"sandbox-init:   hint: ",
		"sandbox-init:   the base image was not written to",
		"sandbox-init:   action: poweroff",
		"reboot: Power down",
	}, expect...) {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	for _, bad := range []string{"Kernel panic", "Attempted to kill init", "GUEST "} {
		if c.contains(bad) {
			t.Errorf("console shows %q", bad)
		}
	}
	return c
}

// mediaFiles lists the image files of v's drives and QEMU arguments
// (-cdrom FILE, -drive file=FILE,...), but v.scratch.
func mediaFiles(v vm) []string {
	var files []string
	for _, d := range v.drives {
		files = append(files, d.File)
	}
	for i, a := range v.qemu {
		if a == "-cdrom" && i+1 < len(v.qemu) {
			files = append(files, v.qemu[i+1])
		}
		for _, opt := range strings.Split(a, ",") {
			if f, ok := strings.CutPrefix(opt, "file="); ok {
				files = append(files, f)
			}
		}
	}
	return slices.DeleteFunc(files, func(f string) bool { return slices.Contains(v.scratch, f) })
}

func TestFaultyImages(t *testing.T) {
	random := make([]byte, 4<<20)
	rand.Read(random)
	root, err := os.ReadFile(built.rootImage)
	if err != nil {
		t.Fatal(err)
	}
	isoImage, err := os.ReadFile(built.cdISO) // an ISO 9660 file system: mounts read-only only
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		image  []byte
		expect []string
	}{
		{"RandomBytes", random, []string{"device: /dev/mapper/sandbox", "no file system the kernel knows on /dev/mapper/sandbox"}},
		{"Truncated", root[:len(root)/2], []string{"device: /dev/mapper/sandbox", "mount /dev/mapper/sandbox on /newroot (ext4, read-write)"}},
		{"ReadOnlyFS", isoImage, []string{"the root image holds iso9660, a read-only file system", "must hold a writable file system"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cd := cdWith(t, tc.image)
			before := sha256File(t, cd)
			expectFailure(t, vm{qemu: []string{"-cdrom", cd}}, "mount", tc.expect...)
			if sha256File(t, cd) != before {
				t.Errorf("the CD changed")
			}
		})
	}
}

func TestFaultyCOW(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		phase  string
		expect []string
	}{
		{"Missing", []string{"sandbox.cow=/dev/sdz", "sandbox.wait=1"}, "cow", []string{"device: /dev/sdz", "COW device did not appear within 1s"}},
		{"SmallerThanChunks", []string{"sandbox.cowsize=4M", "sandbox.chunk=16384"}, "cow", []string{"device: /dev/ram0", "fewer than 4 chunks of 16384"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			expectFailure(t, vm{append: tc.args, qemu: []string{"-cdrom", built.cdISO}}, tc.phase, tc.expect...)
		})
	}
}

// An initramfs built without brd: the init must name the missing module.
func TestMissingModule(t *testing.T) {
	t.Parallel()
	rep := initramfsWith(t, func(s *mklive.InitramfsSpec) {
		s.Required = slices.DeleteFunc(s.Required, func(m string) bool { return m == "brd" })
	})
	expectFailure(t, vm{initramfs: rep.Path, qemu: []string{"-cdrom", built.cdISO}}, "modules",
		"device: brd", "module brd is not available", "this initramfs lacks brd for kernel "+built.kernel.Version)
}

// Every parameter with a bad value, a duplicate and an unknown key, on one
// line: one boot reports them all.
func TestBadCommandLine(t *testing.T) {
	t.Parallel()
	bad := []string{
		"sandbox.cd=sr0", "sandbox.image=relative", "sandbox.cdmount=/", "sandbox.cow=ram1", "sandbox.cowsize=lots",
		"sandbox.chunk=3", "sandbox.persistent=maybe", "sandbox.name=a/b", "sandbox.fstype=EXT4", "sandbox.wait=forever",
		"sandbox.init=sbin/init", "sandbox.zalgo=gzip", "sandbox.watch=1ms", "sandbox.nosuch=1", "sandbox.wait=2",
	}
	c := expectFailure(t, vm{append: bad, qemu: []string{"-cdrom", built.cdISO}}, "config", "device: kernel command line")
	for _, b := range bad[:len(bad)-1] {
		key, val, _ := strings.Cut(b, "=")
		if !c.contains(key + `="` + val + `"`) {
			t.Errorf("the report does not name %s", b)
		}
	}
	if !c.contains(`sandbox.wait="2" is given twice`) {
		t.Errorf("the duplicate is not reported")
	}
}

// A command line near the kernel's 2048-byte limit, with a non-UTF-8 value.
func TestLongNonUTF8CommandLine(t *testing.T) {
	t.Parallel()
	var args []string
	for i := 0; len(strings.Join(args, " ")) < 1700; i++ {
		args = append(args, "filler.param"+strings.Repeat("x", i%7)+"=value")
	}
	args = append(args, "sandbox.name=live\xff\xfe")
	expectFailure(t, vm{append: args, qemu: []string{"-cdrom", built.cdISO}}, "config", "is not valid UTF-8")
}
