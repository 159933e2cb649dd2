package vmtests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// idISO writes a data CD holding the test root as /initrd-ext2, with the
// label and the UUID (blkid's form) given: xorriso's -volume_date uuid.
func idISO(t *testing.T, label, uuid string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), label+"-"+uuid+".iso")
	if err := hostcmd.Run("xorriso", "-outdev", out, "-volid", label, "-volume_date", "uuid", strings.ReplaceAll(uuid, "-", ""),
		"-map", built.rootImage, "/initrd-ext2"); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCDIdentity: sandbox.cd=UUID= boots the disc of that build, not the
// first one with the same label, and refuses to choose between two discs
// with the same UUID.
func TestCDIdentity(t *testing.T) {
	const right, other = "2026-11-26-02-55-00-00", "2025-01-02-03-04-05-06"
	t.Run("Impostor", func(t *testing.T) {
		t.Parallel()
		// The impostor is in the CD drive, which is looked at first;
		// the right disc is an IDE disk (a stick; QEMU has no read-only
		// IDE disk).
		c := bootVM(t, vm{append: []string{"sandbox.cd=UUID=" + right}, drives: []testvm.Drive{
			{File: idISO(t, "SANDBOX", other), Bus: testvm.IDE, CD: true},
			{File: idISO(t, "SANDBOX", right), Bus: testvm.IDE},
		}})
		for _, want := range []string{
			`WARNING: skipping /dev/sr0: ISO 9660 disc "SANDBOX" (UUID ` + other + `) is not the Live CD`,
			"sandbox-init: CD found: /dev/sda (sandbox.cd=UUID=" + right + ")",
		} {
			if !c.contains(want) {
				t.Errorf("console lacks %q", want)
			}
		}
		if got := c.mustGuest(t, "cd"); got != "/dev/sda iso9660 ro" {
			t.Errorf("cd = %q, want the right disc, /dev/sda", got)
		}
		if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
			t.Errorf("root = %q", got)
		}
	})
	t.Run("SameLabel", func(t *testing.T) {
		// sandbox.cd=LABEL= takes the first disc with the label (the CD
		// drive), and names the other one, so the user can tell.
		t.Parallel()
		c := bootVM(t, vm{append: []string{"sandbox.cd=LABEL=SANDBOX"}, drives: []testvm.Drive{
			{File: idISO(t, "SANDBOX", right), Bus: testvm.IDE, CD: true},
			{File: idISO(t, "SANDBOX", other), Bus: testvm.IDE},
		}})
		want := `WARNING: /dev/sda also carries the label "SANDBOX": /dev/sr0 "SANDBOX" (UUID ` + right + `) booted, /dev/sda "SANDBOX" (UUID ` + other + `) did not`
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
		if got := c.mustGuest(t, "cd"); got != "/dev/sr0 iso9660 ro" {
			t.Errorf("cd = %q", got)
		}
	})
	t.Run("Twins", func(t *testing.T) {
		t.Parallel()
		expectFailure(t, vm{append: []string{"sandbox.cd=UUID=" + right}, drives: []testvm.Drive{
			{File: idISO(t, "SANDBOX", right), Bus: testvm.IDE, CD: true},
			{File: idISO(t, "OLDBUILD", right), Bus: testvm.IDE},
		}}, "cd", "two discs match sandbox.cd=UUID="+right+": /dev/sr0 and /dev/sda; remove one", "device: UUID="+right)
	})
}
