package vmtests

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/u-root/u-root/pkg/cpio"
)

// TestDriverHangs: a driver whose load never ends (here ata_piix, the CD
// drive's controller, whose file in the initramfs is a FIFO that no one
// writes: opening it blocks for ever, as a probe that hangs in
// finit_module does) must not hold the boot for ever: with no module load
// ending for sandbox.wait (10 s at least: a controller's probe can take
// seconds), the wait for the CD ends, and the failure names the driver
// still loading. (Drivers that load slowly, one after the other, get that
// time after each one that ends: TestFailures' sandbox.wait=1.)
func TestDriverHangs(t *testing.T) {
	t.Run("cd-driver", func(t *testing.T) {
		t.Parallel()
		expectFailure(t, vm{append: []string{"sandbox.wait=2"}, initramfs: hangingDriver(t, "ata_piix"), qemu: []string{"-cdrom", built.cdISO}, timeout: 90 * time.Second}, "cd",
			"no CD drive or disk appeared within 2s",
			"error: drivers still loading, none done for 1", "s: ata_piix (a probe that never ends?)",
			"hint: dmesg names the device whose probe hangs; keep its driver out with module_blacklist=ata_piix on the kernel command line, or use another controller (a driver that is only slow: a longer sandbox.wait=)")
	})
	// Another controller's driver hangs (virtio_pci, for a disk the boot
	// does not use): the search for a label, which waits for every driver,
	// boots the disc it found once no load has ended for the bound; the
	// settle step, which waits for every module, ends with the hang named.
	t.Run("other-driver", func(t *testing.T) {
		t.Parallel()
		disk := filepath.Join(t.TempDir(), "unused.img")
		if err := truncate(disk, 1<<20); err != nil {
			t.Fatal(err)
		}
		c := expectFailure(t, vm{append: []string{"sandbox.wait=2", "sandbox.cd=LABEL=SANDBOXTEST"}, initramfs: hangingDriver(t, "virtio_pci"),
			qemu: []string{"-cdrom", built.cdISO}, drives: []testvm.Drive{{File: disk, Bus: testvm.VirtioBlk}}, timeout: 90 * time.Second}, "settle",
			"sandbox-init: CD found: /dev/sr0 (sandbox.cd=LABEL=SANDBOXTEST)", "device: virtio_pci",
			"error: modules still loading, none done for 1", "module_blacklist=virtio_pci")
		if _, report, ok := strings.Cut(c.Text, "FAILED"); ok {
			t.Logf("settle failure:\nFAILED%s", report)
		}
	})
}

// hangingDriver is the cloud kernel's initramfs with a second, plain cpio
// after it (the kernel unpacks one after the other) that replaces module
// mod's file with a FIFO.
func hangingDriver(t *testing.T, mod string) string {
	t.Helper()
	d, _, err := kmod.ReadIndex(built.kernel.ModulesDir())
	if err != nil {
		t.Fatal(err)
	}
	p, ok := d.Path[mod]
	if !ok {
		t.Fatalf("kernel %s has no %s", built.kernel.Version, mod)
	}
	if i := strings.Index(p, ".ko"); i >= 0 {
		p = p[:i] + ".ko" // the initramfs holds it decompressed
	}
	out := filepath.Join(t.TempDir(), "initramfs-hang.img")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := os.Open(built.initramfs.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n, err := io.Copy(f, src)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel takes a plain cpio only at a 4-byte boundary; it skips zeros.
	if _, err := f.Write(make([]byte, (4-n%4)%4)); err != nil {
		t.Fatal(err)
	}
	w := cpio.Newc.Writer(f)
	fifo := cpio.Record{Info: cpio.Info{Name: "lib/modules/" + built.kernel.Version + "/" + p, Mode: cpio.S_IFIFO | 0o644}, ReaderAt: strings.NewReader("")}
	if err := w.WriteRecord(fifo); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	return out
}
