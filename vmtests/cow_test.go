package vmtests

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCOWExhaustion fills a small COW store past its end. The watcher must
// warn at 80, 90 and 95% before the snapshot dies, say clearly that it is
// invalid, and the base (a writable disk here) must be byte-for-byte intact.
func TestCOWExhaustion(t *testing.T) {
	t.Parallel()
	disk := filepath.Join(t.TempDir(), "disk.img")
	copyFile(t, built.rootImage, disk)
	before := sha256File(t, disk)
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
		i := strings.Index(c.text, m)
		if i < 0 {
			t.Errorf("console lacks %q", m)
			continue
		}
		if i < last {
			t.Errorf("%q came out of order", m)
		}
		last = i
	}
	if i := strings.Index(c.text, "GUEST fillerror="); i >= 0 && i < strings.Index(c.text, marks[0]) {
		t.Errorf("the writes failed before the first warning")
	}
	if after := sha256File(t, disk); after != before {
		t.Fatalf("the base disk changed")
	}
}
