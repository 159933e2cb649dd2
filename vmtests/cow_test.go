package vmtests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCOWExhaustion fills a small COW store past its end. The watcher must
// warn at 80, 90 and 95% before the snapshot dies, say clearly that it is
// invalid, and the base (a writable disk here) must be byte-for-byte intact.
func TestCOWExhaustion(t *testing.T) {
	t.Parallel()
	disk, before := writableBase(t)
	c := bootVM(t, vm{
		append: []string{"sandbox.origin=/dev/sda", "sandbox.cowsize=8M", "sandbox.watch=50ms", "guest=fill"},
		qemu:   []string{"-drive", "file=" + disk + ",format=raw,if=ide"},
	})
	marks := []string{
		"sandbox-init: WARNING: COW store 80% full",
		"sandbox-init: WARNING: COW store 90% full",
		"sandbox-init: WARNING: COW store 95% full",
		"sandbox-init: ALERT: the COW store is full and the snapshot sandbox is INVALID",
	}
	last := -1
	for _, m := range marks {
		i := strings.Index(c.Text, m)
		if i < 0 {
			t.Errorf("console lacks %q", m)
			continue
		}
		if i < last {
			t.Errorf("%q came out of order", m)
		}
		last = i
	}
	if i := strings.Index(c.Text, "GUEST fillerror="); i >= 0 && i < strings.Index(c.Text, marks[0]) {
		t.Errorf("the writes failed before the first warning")
	}
	if after := sha256File(t, disk); after != before {
		t.Fatalf("the base disk changed")
	}
}

// TestZramCOW: the COW store is a compressed RAM disk.
func TestZramCOW(t *testing.T) {
	t.Parallel()
	c := bootVM(t, vm{append: []string{"sandbox.cow=zram", "sandbox.cowsize=64M", "sandbox.zalgo=lzo"}, qemu: []string{"-cdrom", built.cdISO}})
	if got := c.mustGuest(t, "slaves"); !strings.Contains(got, "zram0") || !strings.Contains(got, "loop0") {
		t.Errorf("dm-0's slaves = %q, want loop0 and zram0", got)
	}
	if got := c.mustGuest(t, "write"); got != "sandbox-write-test" {
		t.Errorf("write = %q", got)
	}
	if got := c.mustGuest(t, "bigwrite"); got != "4194304" {
		t.Errorf("bigwrite = %q", got)
	}
	if got := c.mustGuest(t, "cow"); !strings.Contains(got, "of 131072 sectors") {
		t.Errorf("cow = %q, want a 64 MiB store", got)
	}
	if !c.contains("sandbox-init: COW store: zram, 64M") {
		t.Errorf("the COW size was not logged")
	}
}

// TestPersistentCOW: with sandbox.persistent=P on a disk, what one boot
// writes, the next boot over the same CD and COW disk sees.
func TestPersistentCOW(t *testing.T) {
	t.Parallel()
	cow := filepath.Join(t.TempDir(), "cow.img")
	if err := os.WriteFile(cow, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cow, 64<<20); err != nil {
		t.Fatal(err)
	}
	args := []string{"sandbox.cow=/dev/sda", "sandbox.persistent=P"}
	drives := []string{"-cdrom", built.cdISO, "-drive", "file=" + cow + ",format=raw,if=ide,index=0"}
	c := bootVM(t, vm{append: append(args, "guest=persist-write"), qemu: drives})
	if got := c.mustGuest(t, "persisted"); got != "kept across boots" {
		t.Fatalf("first boot: persisted = %q", got)
	}
	if !c.contains(" snapshot /dev/loop0 /dev/sda P 32") {
		t.Errorf("first boot did not make a P snapshot")
	}
	c = bootVM(t, vm{append: append(args, "guest=persist-read"), qemu: drives})
	if got := c.mustGuest(t, "persisted"); got != "kept across boots" {
		t.Errorf("second boot: persisted = %q, want the first boot's write", got)
	}
	// And without P the same COW disk starts empty.
	c = bootVM(t, vm{append: []string{"sandbox.cow=/dev/sda", "guest=persist-read"}, qemu: drives})
	if got := c.mustGuest(t, "persisted"); got == "kept across boots" {
		t.Errorf("a non-persistent boot saw the old write")
	}
}
