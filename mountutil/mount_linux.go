package mountutil

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/u-root/u-root/pkg/mount"
	"golang.org/x/sys/unix"
)

// APIMounts mounts the file systems PID 1 needs before anything else at
// the given directories, out of /proc, /sys, /dev (devtmpfs) and /run, in
// that order (the boot mounts /proc and /sys first, to start the drivers,
// and the rest after). One already there (EBUSY) is left alone.
func APIMounts(dirs ...string) error {
	for _, m := range []struct{ dir, fstype, data string }{
		{"/proc", "proc", ""},
		{"/sys", "sysfs", ""},
		{"/dev", "devtmpfs", "mode=0755"},
		{"/run", "tmpfs", "mode=0755"},
	} {
		if !slices.Contains(dirs, m.dir) {
			continue
		}
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return err
		}
		err := unix.Mount(m.fstype, m.dir, m.fstype, unix.MS_NOSUID, m.data)
		if err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	return nil
}

// Mount mounts src on dir (created if missing).
func Mount(src, dir, fstype string, flags uintptr, data string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(src, dir, fstype, flags, data); err != nil {
		mode := "read-write"
		if flags&unix.MS_RDONLY != 0 {
			mode = "read-only"
		}
		return fmt.Errorf("mount %s on %s (%s, %s): %w", src, dir, fstype, mode, err)
	}
	return nil
}

// Move moves the mount at from to to (created if missing): mount --move.
func Move(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", to, err)
	}
	if err := mount.MoveMount(from, to); err != nil {
		return fmt.Errorf("mount --move %s %s: %w", from, to, err)
	}
	return nil
}
