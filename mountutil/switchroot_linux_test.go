package mountutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Debian's /sbin/init is an absolute symlink into a merged /usr: it must be
// resolved inside the new root, not from the initramfs.
func TestCheckInit(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "usr/sbin"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/lib/systemd/systemd"), []byte("#!/bin/true\n"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/sbin/notexec"), nil, 0o644))
	must(os.Symlink("usr/lib", filepath.Join(root, "lib")))
	must(os.Symlink("usr/sbin", filepath.Join(root, "sbin")))
	must(os.Symlink("/lib/systemd/systemd", filepath.Join(root, "usr/sbin/init")))
	must(os.Symlink("/nowhere", filepath.Join(root, "usr/sbin/dangling")))

	if err := checkInit(root, "/sbin/init"); err != nil {
		t.Errorf("/sbin/init -> /lib/systemd/systemd: %v", err)
	}
	for init, want := range map[string]string{
		"/sbin/notexec":  "not an executable file",
		"/sbin/dangling": "not found in the new root",
		"/sbin/missing":  "not found in the new root",
		"/usr/lib":       "not an executable file",
	} {
		err := checkInit(root, init)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkInit(%s) = %v, want %q", init, err, want)
		}
	}
}
