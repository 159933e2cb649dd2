package mklive

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
)

// isoIdentity is what blkid shows of an ISO: "LABEL UUID".
func isoIdentity(t *testing.T, iso string) string {
	t.Helper()
	var id []string
	for _, tag := range []string{"LABEL", "UUID"} {
		out, err := exec.Command("blkid", "-p", "-o", "value", "-s", tag, iso).Output()
		if err != nil {
			t.Fatalf("blkid %s: %v", iso, err)
		}
		id = append(id, strings.TrimSpace(string(out)))
	}
	return strings.Join(id, " ")
}

func TestISOUUID(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 26, 2, 55, 0, 0, time.UTC), "2026-11-26-02-55-00-00"},
		{time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC), "2026-01-02-03-04-05-99"},
		{time.Date(2026, 1, 2, 4, 4, 5, 70e6, time.FixedZone("CET", 3600)), "2026-01-02-03-04-05-07"},
	} {
		if got := ISOUUID(tc.t); got != tc.want {
			t.Errorf("ISOUUID(%v) = %s, want %s", tc.t, got, tc.want)
		}
	}
}

func TestLiveCDCmdlineUUID(t *testing.T) {
	cmdline, _, cfg, err := LiveCDCmdline(config.UUID("2026-11-26-02-55-00-00"), "", "")
	if err != nil || cmdline != "console=tty0 console=ttyS0 sandbox.cd=UUID=2026-11-26-02-55-00-00" || cfg.CD != config.UUID("2026-11-26-02-55-00-00") {
		t.Errorf("LiveCDCmdline: %q, %q, %v", cmdline, cfg.CD, err)
	}
	if _, _, _, err := LiveCDCmdline(config.UUID("yesterday"), "", ""); err == nil {
		t.Error("a bad UUID was accepted")
	}
}

// BuildISO gives the ISO the UUID asked for, and refuses one blkid could
// not show.
func TestBuildISOUUID(t *testing.T) {
	needTools(t, "xorriso", "blkid", "grub-mkstandalone", "mformat")
	dir := t.TempDir()
	for _, f := range []string{"vmlinuz", "initrd.img", "root.img"} {
		writeFile(t, filepath.Join(dir, f), []byte(f))
	}
	spec := ISOSpec{Kernel: filepath.Join(dir, "vmlinuz"), Initramfs: filepath.Join(dir, "initrd.img"), RootImage: filepath.Join(dir, "root.img"),
		Label: "IDTEST", UUID: "2025-01-02-03-04-05-06", Cmdline: "sandbox.cd=UUID=2025-01-02-03-04-05-06", Out: filepath.Join(dir, "a.iso")}
	if err := BuildISO(spec); err != nil {
		t.Fatal(err)
	}
	if id := isoIdentity(t, spec.Out); id != "IDTEST 2025-01-02-03-04-05-06" {
		t.Errorf("blkid: %s", id)
	}
	spec.UUID = "2025-01-02"
	if err := BuildISO(spec); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD-hh-mm-ss-cc") {
		t.Errorf("a bad UUID: %v", err)
	}
	_ = os.Remove(spec.Out)
}

func TestBeforeInitArgs(t *testing.T) {
	for in, want := range map[string]string{
		"console=ttyS0":                "console=ttyS0 sandbox.verity=ab",
		"console=ttyS0 -- single":      "console=ttyS0 sandbox.verity=ab -- single",
		"a -- b -- c":                  "a sandbox.verity=ab -- b -- c",
		"quiet sandbox.cd=UUID=x --  ": "quiet sandbox.cd=UUID=x sandbox.verity=ab --",
	} {
		if got := beforeInitArgs(in, "sandbox.verity=ab"); got != want {
			t.Errorf("beforeInitArgs(%q) = %q, want %q", in, got, want)
		}
	}
}
