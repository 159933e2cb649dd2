package testvm

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// DebianTree copies scripts/setup.sh's Debian root (cache/debian-root) to
// dst and adds a oneshot unit, NAME.service, wanted by multi-user.target,
// that runs script as /usr/local/sbin/NAME once the system is up: how the
// VM test and the benchmark learn what a booted systemd sees.
func DebianTree(cache, dst, name, script string) error {
	src := filepath.Join(cache, "debian-root")
	if _, err := os.Stat(filepath.Join(src, ".complete")); err != nil {
		return fmt.Errorf("no Debian root at %s: run scripts/setup.sh (%w)", src, err)
	}
	_ = os.RemoveAll(dst)
	if err := hostcmd.Run("cp", "-a", src, dst); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dst, ".complete"))
	unit := fmt.Sprintf("[Unit]\nDescription=%s, once multi-user.target is reached\nAfter=multi-user.target\n\n"+
		"[Service]\nType=oneshot\nExecStart=/usr/local/sbin/%s\n\n[Install]\nWantedBy=multi-user.target\n", name, name)
	for path, f := range map[string]struct {
		content string
		mode    os.FileMode
	}{
		"usr/local/sbin/" + name:                  {script, 0o755},
		"etc/systemd/system/" + name + ".service": {unit, 0o644},
	} {
		if err := os.WriteFile(filepath.Join(dst, path), []byte(f.content), f.mode); err != nil {
			return err
		}
	}
	wants := filepath.Join(dst, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	return os.Symlink("/etc/systemd/system/"+name+".service", filepath.Join(wants, name+".service"))
}
