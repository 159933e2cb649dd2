package mklive

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BusyboxBinary is where Debian's busybox-static installs its binary.
const BusyboxBinary = "/bin/busybox"

// BusyboxTree lays out a minimal root file system in dir: a static busybox
// with a link for each applet, the directories a system mounts on, and the
// given files (path in the tree -> content; those under bin/ and sbin/ are
// made executable). It is the demo's and the tests' root.
func BusyboxTree(dir, busybox string, files map[string]string) error {
	if busybox == "" {
		busybox = BusyboxBinary
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w (install the Debian package busybox-static)", busybox, err)
	}
	for _, d := range []string{"bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root", "mnt2"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), b, 0o755); err != nil {
		return err
	}
	for _, a := range strings.Fields(string(out)) {
		if a == "busybox" || a == "init" {
			continue
		}
		p := filepath.Join(dir, "bin", a)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink("busybox", p); err != nil {
			return err
		}
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "sbin/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			return err
		}
	}
	return nil
}
