package vmtests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// TestVerityOff: a medium with the image's hash tree booted without
// sandbox.verity= (the boot loader's line edited) says so on every console,
// in sandbox-init status and in state.json; sandbox.verity= with a
// persistent COW disk boots, and says that the disk's changes are not
// verified.
func TestVerityOff(t *testing.T) {
	t.Run("Screen", func(t *testing.T) {
		// Read as the warning is printed: the rest of the boot scrolls
		// it off the 25 lines of a text screen.
		t.Parallel()
		v := makeVerityCD(t, false, true)
		want := "sandbox-init: WARNING: the root image /initrd-ext2 is NOT verified"
		c := bootVM(t, vm{kernel: testvm.Std12, append: pcConsoles,
			drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}, screen: "Boot the medium's own menu entry unchanged"})
		t.Logf("screen:\n%s", c.Screen)
		if !strings.Contains(strings.ReplaceAll(c.Screen, "\n", ""), want) { // the screen wraps at 80 columns
			t.Errorf("the screen lacks %q", want)
		}
		if n := c.Count(want); n != 1 {
			t.Errorf("the serial console shows %q %d times, want once", want, n)
		}
	})
	t.Run("State", func(t *testing.T) {
		// With sandbox.toram too: the image then runs from its copy in
		// RAM, which has no tree beside it; the medium has.
		t.Parallel()
		v := makeVerityCD(t, false, true)
		c := bootVM(t, vm{append: []string{"sandbox.toram=yes", "sandbox.cowsize=64M"}, qemu: []string{"-m", "1024"},
			drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}})
		if !c.contains("sandbox-init: WARNING: the root image /initrd-ext2 is NOT verified") {
			t.Error("the boot does not warn that the image is not verified")
		}
		if st := c.guestState(t); !strings.HasPrefix(st.VerityOff, "the command line has no sandbox.verity=") {
			t.Errorf("state.json: verity_off %q", st.VerityOff)
		}
		if got := c.mustGuest(t, "verity"); !strings.HasPrefix(got, "OFF (the command line has no sandbox.verity=, though the medium has the image's hash tree /initrd-ext2.verity") {
			t.Errorf("sandbox-init status: verity = %q", got)
		}
	})
	t.Run("NoTree", func(t *testing.T) {
		// A medium without a hash tree has nothing to verify against:
		// no warning.
		t.Parallel()
		v := makeVerityCD(t, false, false)
		c := bootVM(t, vm{drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}})
		if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
			t.Errorf("root = %q", got)
		}
		if c.contains("NOT verified") {
			t.Error("a medium without a hash tree got the warning")
		}
	})
	t.Run("Persistent", func(t *testing.T) {
		t.Parallel()
		v := makeVerityCD(t, false, true)
		cow := filepath.Join(t.TempDir(), "cow.img")
		if err := os.WriteFile(cow, make([]byte, 32<<20), 0o644); err != nil {
			t.Fatal(err)
		}
		c := bootVM(t, vm{append: v.params("sandbox.cow=/dev/sda", "sandbox.persistent=P"),
			drives: []testvm.Drive{{File: cow, Bus: testvm.IDE}, {File: v.iso, Bus: testvm.IDE, CD: true}}})
		if !c.contains("sandbox-init: WARNING: dm-verity checks the base image only: the persistent COW store /dev/sda (sandbox.persistent=P): the changes kept there are not verified") {
			t.Error("the boot does not warn that the persistent COW store is not verified")
		}
		if got := c.mustGuest(t, "verity"); !strings.HasPrefix(got, "OK for the base image only") || !strings.Contains(got, "NOT verified: the persistent COW store /dev/sda") {
			t.Errorf("sandbox-init status: verity = %q", got)
		}
		if st := c.guestState(t); st.Verity == nil || !strings.HasPrefix(st.Verity.Unverified, "the persistent COW store /dev/sda") {
			t.Errorf("state.json: verity %+v", st.Verity)
		}
	})
}
