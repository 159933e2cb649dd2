package vmtests

import (
	"strconv"
	"testing"
)

// TestGrow: an image with 18 MiB free and a 128 MiB COW store. With
// sandbox.grow=auto the root's file system grows at boot until it has the
// COW store's room, a 64 MiB write (more than the image had free)
// succeeds, and the base disk is byte-for-byte what it was.
func TestGrow(t *testing.T) {
	t.Parallel()
	disk, before := writableBase(t)
	c := bootVM(t, vm{
		append: []string{"sandbox.origin=/dev/sda", "sandbox.cowsize=128M", "sandbox.grow=auto", "bigmib=64"},
		qemu:   []string{"-drive", "file=" + disk + ",format=raw,if=ide"},
	})
	if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
		t.Errorf("root = %q", got)
	}
	free, err := strconv.ParseUint(c.mustGuest(t, "rootfree_kb"), 10, 64)
	if err != nil || free < 128<<10 {
		t.Errorf("/ has %d KiB free, want at least the COW store's 131072 (%v)", free, err)
	}
	if got := c.mustGuest(t, "bigwrite"); got != strconv.Itoa(64<<20) {
		t.Errorf("the 64 MiB write: %q", got)
	}
	if st := c.guestState(t); st.GrownBase != "/dev/mapper/sandbox-base" {
		t.Errorf("state.json: grown_base %q", st.GrownBase)
	}
	if !c.contains("sandbox-init: grow: /dev/sda") {
		t.Errorf("the growth was not reported")
	}
	if sha256File(t, disk) != before {
		t.Errorf("the base disk changed")
	}
}
