package vmtests

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// TestCOWDiskIsTheMedium: sandbox.cow= naming the disk the boot reads (a
// typo, or a device name that moved between machines) is refused in phase
// "cow" before a byte is written, with what the disk holds; the disk is
// byte for byte as it was (expectFailure compares every image). Each disk
// is writable by the machine: nothing but the init's check keeps it whole.
func TestCOWDiskIsTheMedium(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []string
		disk   func(t *testing.T) string
		expect []string
	}{
		{"live-stick", []string{"sandbox.cow=/dev/vda"}, func(t *testing.T) string {
			// A Live stick's first sectors hold its boot code (isohybrid):
			// ISO 9660 leaves them to it, so the copy carries some here,
			// which a write at byte 0 would not leave as they are.
			dst := filepath.Join(t.TempDir(), "stick.img")
			copyFile(t, built.cdISO, dst)
			f, err := os.OpenFile(dst, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(bytes.Repeat([]byte("bootcode"), 55), 0); err != nil {
				t.Fatal(err)
			}
			return dst
		}, []string{
			"device: /dev/vda",
			"error: refused as the COW disk: it shares vda sectors 0+",
			"with the medium this system boots from (/dev/vda); nothing was written to it",
			"hint: sandbox.cow= must name a scratch disk that holds nothing this boot uses",
		}},
		{"iso-file-disk", []string{"sandbox.iso=LABEL=STICK:/isos/live.iso", "sandbox.cow=/dev/vda"}, func(t *testing.T) string {
			return stick(t, "ext4", "STICK", 64<<20, map[string]string{"/isos/live.iso": liveISOFile(t)})
		}, []string{
			"device: /dev/vda",
			"with the disk holding the ISO file this system boots from (sandbox.iso=) (/dev/vda1)",
		}},
		{"iso-file-partition", []string{"sandbox.iso=/isos/live.iso", "sandbox.cow=/dev/vda1", "sandbox.persistent=P"}, func(t *testing.T) string {
			return stick(t, "vfat", "STICK", 64<<20, map[string]string{"/isos/live.iso": liveISOFile(t)})
		}, []string{
			"device: /dev/vda1",
			"error: refused as the COW disk: it shares vda1 sectors 0+",
		}},
		{"origin", []string{"sandbox.origin=/dev/vda1", "sandbox.cow=/dev/vda"}, func(t *testing.T) string {
			return stick(t, "ext4", "ROOT", 16<<20, map[string]string{"/initrd-ext2": built.rootImage})
		}, []string{
			"device: /dev/vda",
			"with the origin (sandbox.origin=) (/dev/vda1)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			disk := tc.disk(t)
			expectFailure(t, vm{append: append(tc.params, "sandbox.wait=3"), drives: []testvm.Drive{{File: disk, Bus: testvm.VirtioBlk}}}, "cow", tc.expect...)
		})
	}
}

// TestHugeChunk: sandbox.chunk=2097152 (1 GiB chunks) with a disk COW on a
// 768 MiB machine allocated 1 GiB in Go ("Attempted to kill init"); now the
// size is weighed against the RAM first, and the scratch disk is left
// alone.
func TestHugeChunk(t *testing.T) {
	t.Parallel()
	scratch := filepath.Join(t.TempDir(), "scratch.img")
	mark := bytes.Repeat([]byte("scratch!"), 1024)
	if err := os.WriteFile(scratch, mark, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(scratch, 8<<30); err != nil { // sparse: 4 chunks and more
		t.Fatal(err)
	}
	expectFailure(t, vm{memoryMiB: 768, append: []string{"sandbox.cow=/dev/sda", "sandbox.chunk=2097152"},
		qemu:    []string{"-cdrom", built.cdISO, "-drive", "file=" + scratch + ",format=raw,if=ide,index=0"},
		scratch: []string{scratch}}, // 8 GiB to hash: its first bytes are checked below
		"cow",
		"device: /dev/sda",
		"error: sandbox.chunk=2097152 (1024 MiB a chunk): the snapshot's store keeps 3 chunks in kernel memory (3072 MiB), more than a quarter of the ",
		"the largest chunk this machine takes is sandbox.chunk=",
		"hint: give sandbox.chunk= a smaller power of two")
	f, err := os.Open(scratch)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, len(mark))
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, mark) {
		t.Errorf("the scratch disk's first %d bytes changed (%v)", len(mark), err)
	}
}

// TestSizesCapped: a RAM COW store larger than the RAM, and a grow target
// whose new block groups' metadata would not fit a quarter of the store,
// are capped with a warning; the sandbox boots and writes.
func TestSizesCapped(t *testing.T) {
	t.Parallel()
	c := bootVM(t, vm{append: []string{"sandbox.cowsize=100G", "sandbox.grow=1T"}, qemu: []string{"-cdrom", built.cdISO}})
	for _, want := range []string{
		"WARNING: sandbox.cowsize asks for a ram0 store of 102400 MiB, more than the RAM (",
		"WARNING: sandbox.grow: growing to 1048576 MiB would write ",
		"into the COW store of ",
	} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if got := c.mustGuest(t, "write"); got != "sandbox-write-test" {
		t.Errorf("write = %q", got)
	}
	if got := c.mustGuest(t, "bigwrite"); got != "4194304" {
		t.Errorf("bigwrite = %q", got)
	}
}
