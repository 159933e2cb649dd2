package vmtests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCOWExhaustion fills a small COW store past its end with the default
// store, PO, and a writer at a few MiB/s: it crosses 80, 90 and 95% within
// one of the watcher's 1 s intervals, so the watcher must look sooner. The
// watcher must warn at 80, 90 and 95% before the writes fail, say the store
// is full, and the system must live on: the base and what was written read
// back (page cache dropped), new writes are refused, the machine powers off
// cleanly, and the base disk is byte-for-byte intact.
func TestCOWExhaustion(t *testing.T) {
	t.Parallel()
	disk, before := writableBase(t)
	c := bootVM(t, vm{
		append: []string{"sandbox.origin=/dev/sda", "sandbox.cowsize=12M", "guest=fill", "fillsleep=0.05", "fillcheck=1"},
		qemu:   []string{"-drive", "file=" + disk + ",format=raw,if=ide"},
	})
	expectMarks(t, c,
		"sandbox-init: WARNING: COW store 80% full",
		"sandbox-init: WARNING: COW store 90% full",
		"sandbox-init: WARNING: COW store 95% full",
		"sandbox-init: ALERT: the COW store is FULL")
	c.mustGuest(t, "fillerror")
	for key, want := range map[string]string{"kept": "kept-before-the-fill", "basesame": "yes", "newwrite": "refused"} {
		if got := c.mustGuest(t, key); got != want {
			t.Errorf("after the overflow, %s = %q, want %q", key, got, want)
		}
	}
	if got := c.mustGuest(t, "cowstatus"); !strings.HasPrefix(got, "FULL") {
		t.Errorf("sandbox-init status says cow: %q", got)
	}
	if u := c.guestUsage(t); !u.Overflow || u.Invalid {
		t.Errorf("usage.json: overflow %v, invalid %v, want true, false", u.Overflow, u.Invalid)
	}
	for _, bad := range []string{"Kernel panic", "Attempted to kill init", "INVALID"} {
		if c.contains(bad) {
			t.Errorf("console shows %q", bad)
		}
	}
	if !c.contains("GUEST done") || !c.contains("reboot: Power down") {
		t.Errorf("the system did not live on to a clean power-off")
	}
	if after := sha256File(t, disk); after != before {
		t.Fatalf("the base disk changed")
	}
}

// TestCOWExhaustionN: the how-to's N store, chosen with sandbox.store=N,
// dies when full: the warnings still come first, then the alert that the
// snapshot is invalid; the base is intact.
func TestCOWExhaustionN(t *testing.T) {
	t.Parallel()
	disk, before := writableBase(t)
	c := bootVM(t, vm{
		append: []string{"sandbox.origin=/dev/sda", "sandbox.cowsize=8M", "sandbox.store=N", "sandbox.watch=50ms", "guest=fill"},
		qemu:   []string{"-drive", "file=" + disk + ",format=raw,if=ide"},
	})
	marks := []string{
		"sandbox-init: WARNING: COW store 80% full",
		"sandbox-init: WARNING: COW store 90% full",
		"sandbox-init: WARNING: COW store 95% full",
		"sandbox-init: ALERT: the COW store is full and the snapshot sandbox is INVALID",
	}
	expectMarks(t, c, marks...)
	if i := strings.Index(c.Text, "GUEST fillerror="); i >= 0 && i < strings.Index(c.Text, marks[0]) {
		t.Errorf("the writes failed before the first warning")
	}
	if after := sha256File(t, disk); after != before {
		t.Fatalf("the base disk changed")
	}
}

// expectMarks checks that the console shows each mark, in order.
func expectMarks(t *testing.T, c console, marks ...string) {
	t.Helper()
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
	if !c.contains("sandbox-init: COW store: zram, 64 MiB") {
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
	if !c.contains(" snapshot /dev/loop0 /dev/sda PO 8") {
		t.Errorf("first boot did not make a persistent (PO) snapshot")
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
