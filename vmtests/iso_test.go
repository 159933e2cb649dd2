package vmtests

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/mklive"
)

// TestISOBootsFromCDROMAlone is the whole Live CD path: firmware, isolinux,
// kernel, sandbox-init, the sandbox and the real init, from QEMU's -cdrom
// with no -kernel or -initrd. The CD is found by its label.
func TestISOBootsFromCDROMAlone(t *testing.T) {
	t.Parallel()
	iso := liveISO(t, "LIVETEST")
	c := bootVM(t, vm{noKernel: true, qemu: []string{"-cdrom", iso}})
	if !c.contains("ISOLINUX") {
		t.Errorf("isolinux did not run")
	}
	if !c.contains("sandbox-init: CD found: /dev/sr0 (sandbox.cd=LABEL=LIVETEST)") {
		t.Errorf("the CD was not found by its label")
	}
	for k, want := range map[string]string{
		"pid":   "1",
		"root":  "/dev/mapper/sandbox ext4 rw",
		"cd":    "/dev/sr0 iso9660 ro",
		"write": "sandbox-write-test",
	} {
		if got := c.mustGuest(t, k); got != want {
			t.Errorf("guest %s = %q, want %q", k, got, want)
		}
	}
}

// TestDemo boots the README's main job, the demo Live CD, and checks what
// it promises to show.
func TestDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tree := filepath.Join(dir, "demo-root")
	if err := mklive.DemoTree(tree, filepath.Join(built.dir, "init")); err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(dir, "demo.iso")
	// As scripts/demo.sh builds it: the root in a compressed container.
	if err := mklive.LiveCD(mklive.LiveCDSpec{Kernel: built.kernel, Init: filepath.Join(built.dir, "init"), Root: tree, Container: "zstd", Out: iso}); err != nil {
		t.Fatal(err)
	}
	c := bootVM(t, vm{noKernel: true, qemu: []string{"-cdrom", iso}})
	for _, want := range []string{
		"sandbox-init demo: the real init runs as PID 1",
		"/dev/mapper/sandbox / ext4 rw",
		"table: 0 ",
		"8+0 records out",
		"BASE UNCHANGED: the writes live only in RAM",
		"reboot: Power down",
	} {
		if !c.contains(want) {
			t.Errorf("demo console lacks %q", want)
		}
	}
}

// TestCompressions: the kernel unpacks the initramfs in every compression
// mklive offers (zstd, the default, is what every other test boots).
func TestCompressions(t *testing.T) {
	for _, c := range []string{"xz", "gzip"} {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			rep := initramfsWith(t, func(s *mklive.InitramfsSpec) { s.Compression = c })
			t.Logf("%s: %d bytes", c, rep.Compressed)
			// The format asked for, not the default: check the magic.
			magic := map[string][]byte{"xz": {0xfd, '7', 'z', 'X', 'Z', 0}, "gzip": {0x1f, 0x8b}}[c]
			head := make([]byte, len(magic))
			if f, err := os.Open(rep.Path); err != nil {
				t.Fatal(err)
			} else {
				_, _ = io.ReadFull(f, head)
				f.Close()
			}
			if !bytes.Equal(head, magic) {
				t.Fatalf("%s initramfs starts % x, want % x", c, head, magic)
			}
			cons := bootVM(t, vm{initramfs: rep.Path, qemu: []string{"-cdrom", built.cdISO}})
			if got := cons.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
				t.Errorf("root = %q", got)
			}
		})
	}
}

// TestISOBootsAsDisk: the same ISO written to a USB stick boots from its
// MBR (isohybrid), and sandbox-init finds the "CD" on the disk by label.
func TestISOBootsAsDisk(t *testing.T) {
	t.Parallel()
	iso := liveISO(t, "USBTEST")
	c := bootVM(t, vm{noKernel: true, qemu: []string{"-drive", "file=" + iso + ",format=raw,if=ide,index=0", "-boot", "c"}})
	if !c.contains("sandbox-init: CD found: /dev/sda (sandbox.cd=LABEL=USBTEST)") {
		t.Errorf("the Live image was not found on the disk")
	}
	if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
		t.Errorf("root = %q", got)
	}
	if got := c.mustGuest(t, "cd"); got != "/dev/sda iso9660 ro" {
		t.Errorf("cd = %q", got)
	}
}

// TestISOBootsUEFI: the same ISO under UEFI firmware (OVMF): GRUB from the
// El Torito EFI image, then the same kernel, init and sandbox.
func TestISOBootsUEFI(t *testing.T) {
	t.Parallel()
	iso := liveISO(t, "UEFITEST")
	c := bootVM(t, vm{noKernel: true, qemu: []string{"-bios", "/usr/share/ovmf/OVMF.fd", "-cdrom", iso}, timeout: 180 * time.Second})
	if c.contains("ISOLINUX") {
		t.Errorf("the BIOS path booted, not UEFI")
	}
	if !c.contains("sandbox-init: CD found: /dev/sr0 (sandbox.cd=LABEL=UEFITEST)") {
		t.Errorf("the CD was not found by its label")
	}
	if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
		t.Errorf("root = %q", got)
	}
}

// liveISO builds a Live CD of the test root and the built initramfs whose
// command line finds the CD by label. It has a UUID too, which GRUB (the
// UEFI boot) finds it by.
func liveISO(t *testing.T, label string) string {
	t.Helper()
	iso := filepath.Join(t.TempDir(), "live.iso")
	err := mklive.BuildISO(mklive.ISOSpec{
		Kernel: built.kernel.Vmlinuz(), Initramfs: built.initramfs.Path, RootImage: built.rootImage,
		Label: label, UUID: mklive.ISOUUID(time.Now()),
		Cmdline: "console=ttyS0 loglevel=7 sandbox.onfail=poweroff sandbox.cd=LABEL=" + label, Out: iso,
	})
	if err != nil {
		t.Fatal(err)
	}
	return iso
}
