package mountutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/mount"
	"golang.org/x/sys/unix"
)

// SwitchRoot makes newRoot the root and execs init there as PID 1, after
// moving the API mounts into it and deleting the initramfs's files (they are
// RAM nobody could reach again). It returns only on failure; once the old
// root's files are deleted there is no way back, so everything that can fail
// is checked first.
func SwitchRoot(newRoot, init string, argv, env []string) error {
	if err := checkInit(newRoot, init); err != nil {
		return err
	}
	for _, dir := range []string{"/dev", "/proc", "/sys", "/run"} {
		if err := Move(dir, filepath.Join(newRoot, dir)); err != nil {
			return err
		}
	}
	if err := unix.Chdir(newRoot); err != nil {
		return err
	}
	old, err := os.Open("/")
	if err != nil {
		return err
	}
	defer old.Close()
	if err := mount.MoveMount(".", "/"); err != nil {
		return fmt.Errorf("mount --move %s /: %w", newRoot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", newRoot, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	deleteTree(int(old.Fd()), rootDev(old))
	return unix.Exec(init, argv, env)
}

// checkInit makes sure init exists and is executable in newRoot, resolving
// symlinks as the new root will see them: /sbin/init is often an absolute
// link (/lib/systemd/systemd) that would point into the initramfs if
// followed from here.
func checkInit(newRoot, init string) error {
	root, err := os.Open(newRoot)
	if err != nil {
		return err
	}
	defer root.Close()
	fd, err := unix.Openat2(int(root.Fd()), strings.TrimPrefix(init, "/"), &unix.OpenHow{
		Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return fmt.Errorf("init %s not found in the new root: %w", init, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return fmt.Errorf("init %s is not an executable file in the new root (mode %o)", init, st.Mode)
	}
	return nil
}

func rootDev(f *os.File) uint64 {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return ^uint64(0)
	}
	return st.Dev
}

// deleteTree removes everything under dirfd that lives on device dev: the
// initramfs. It never crosses into another file system, so the new root
// (moved over it) and the API mounts are safe. Best effort: what cannot be
// removed only costs RAM.
func deleteTree(dirfd int, dev uint64) {
	// Read the names through a dup: the *os.File closes its fd, and the
	// caller still owns dirfd.
	dup, err := unix.Dup(dirfd)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(dup), "")
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		var st unix.Stat_t
		if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Dev != dev {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			deleteTree(fd, dev)
			unix.Close(fd)
			_ = unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
		} else {
			_ = unix.Unlinkat(dirfd, name, 0)
		}
	}
}
