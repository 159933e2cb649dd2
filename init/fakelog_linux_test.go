package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"golang.org/x/sys/unix"
)

// kmsgLogger is a logger over a /dev and a /proc of plain files: console
// ttyS0, printk "7 4 1 7", printk_devkmsg on. It returns the logger and the
// path of its /dev/kmsg file. (klog's own tests have the fuller fake.)
func kmsgLogger(t *testing.T) (*klog.Logger, string) {
	t.Helper()
	dev, proc := t.TempDir(), t.TempDir()
	files := map[string]string{
		filepath.Join(dev, "kmsg"):                       "",
		filepath.Join(dev, "ttyS0"):                      "",
		filepath.Join(proc, "sys/kernel/printk"):         "7 4 1 7\n",
		filepath.Join(proc, "sys/kernel/printk_devkmsg"): "on\n",
		filepath.Join(proc, "cmdline"):                   "console=ttyS0\n",
	}
	for path, text := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	devFd, err := unix.Open(dev, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	procFd, err := unix.Open(proc, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(devFd); unix.Close(procFd) })
	l := klog.New(os.Stdout)
	l.Attach(devFd, procFd, []string{"ttyS0"})
	return l, filepath.Join(dev, "kmsg")
}
