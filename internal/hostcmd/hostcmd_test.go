package hostcmd

import (
	"strings"
	"testing"
	"time"
)

func TestNeed(t *testing.T) {
	_, err := Need("xorriso-not-a-tool")
	if err == nil {
		t.Error("found a tool that does not exist")
	}
	if _, err := Need("mksquashfs-not-a-tool"); err == nil || !strings.Contains(err.Error(), "is not installed") {
		t.Errorf("a missing tool: %v", err)
	}
	if _, err := Need("sh"); err != nil {
		t.Error(err)
	}
}

// Every tool the build or the VM tests run names the Debian package that
// has it, for Need's error.
func TestToolPackages(t *testing.T) {
	for _, tool := range []string{"mke2fs", "dumpe2fs", "debugfs", "mksquashfs", "unsquashfs", "depmod", "xorriso", "grub-mkstandalone", "mformat", "mmd", "mcopy", "go", "qemu-system-x86_64", "objcopy", "sbsign", "sbverify", "openssl", "cert-to-efi-sig-list", "sign-efi-sig-list"} {
		if tools[tool] == "" {
			t.Errorf("tools has no package for %s", tool)
		}
	}
	if tools["qemu-system-x86_64"] != "qemu-system-x86" {
		t.Errorf("qemu-system-x86_64 comes from %q, want qemu-system-x86", tools["qemu-system-x86_64"])
	}
}

func TestRun(t *testing.T) {
	if err := Run("sh", "-c", "exit 0"); err != nil {
		t.Error(err)
	}
	err := Run("sh", "-c", "echo the reason >&2; exit 4")
	if err == nil || !strings.Contains(err.Error(), "the reason") || !strings.Contains(err.Error(), "exit status 4") {
		t.Errorf("a failing tool: %v, want its output and status", err)
	}
}

func TestRunProgress(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 50 * time.Millisecond
	var lines []string
	logf := func(f string, a ...any) { lines = append(lines, f) }
	if err := RunProgress(logf, "step", 1<<30, "sh", "-c", "head -c 1000000 /dev/zero >/dev/null; sleep 0.3"); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Error("no progress line in 0.3 s")
	}
	err := RunProgress(logf, "step", 0, "sh", "-c", "echo why >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "why") {
		t.Errorf("a failing step: %v", err)
	}
}

func TestTook(t *testing.T) {
	if got := Took(time.Now().Add(-1500 * time.Millisecond)); got != "1.5 s" {
		t.Errorf("Took: %q", got)
	}
}
