// Package mountutil holds the mount, loop and switch_root steps of
// sandbox-init. Every function names its paths in its errors, because these
// errors end up on a console in front of a user.
package mountutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/mount"
	"golang.org/x/sys/unix"
)

// APIMounts mounts /proc, /sys, /dev (devtmpfs) and /run: the file systems
// PID 1 needs before anything else. Already-mounted ones are left alone.
func APIMounts() error {
	for _, m := range []struct{ dir, fstype, data string }{
		{"/proc", "proc", ""},
		{"/sys", "sysfs", ""},
		{"/dev", "devtmpfs", "mode=0755"},
		{"/run", "tmpfs", "mode=0755"},
	} {
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

// DetectFS names the file system on a block device from its superblock's
// magic (FSType), reading the device only.
func DetectFS(dev string) (string, error) {
	f, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, FSProbeBytes)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", fmt.Errorf("read %s: %w", dev, err)
	}
	fs := FSType(b[:n])
	if fs == "" {
		return "", fmt.Errorf("no file system the kernel knows on %s: its first %d KiB match no superblock of ext2/3/4, xfs, btrfs, f2fs, vfat, squashfs, erofs or iso9660", dev, n>>10)
	}
	return fs, nil
}

// KernelHasFS reports whether the running kernel can mount fstype now
// (/proc/filesystems): built in, or its module loaded.
func KernelHasFS(fstype string) bool {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fstype {
			return true
		}
	}
	return false
}

// Sectors returns the size of a block device in 512-byte sectors.
func Sectors(dev string) (uint64, error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
	if err != nil {
		return 0, fmt.Errorf("BLKGETSIZE64 %s: %w", dev, err)
	}
	return n / 512, nil
}

// LogicalBlockSize returns a block device's logical sector size in bytes.
func LogicalBlockSize(dev string) (int, error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET)
	if err != nil {
		return 0, fmt.Errorf("BLKSSZGET %s: %w", dev, err)
	}
	return n, nil
}

// Loop is an attached loop device. Its fd must stay open until something
// else (device-mapper) holds the device: it is set up with autoclear, so it
// detaches when its last opener goes away and nothing is left to clean.
type Loop struct {
	Path string
	f    *os.File
}

// Close drops sandbox-init's hold on the loop device.
func (l *Loop) Close() error { return l.f.Close() }

// LoopAttach attaches file to a free loop device, read-only at both ends:
// the file is opened O_RDONLY and the loop device gets LO_FLAGS_READ_ONLY, so
// no write can reach the base image through it.
func LoopAttach(file string) (*Loop, error) {
	img, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	if st, err := img.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", file)
	} else if st.Size() < 1024 {
		return nil, fmt.Errorf("%s is %d bytes: too small for a file system", file, st.Size())
	}
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("/dev/loop-control: %w (is the loop module loaded?)", err)
	}
	defer ctl.Close()
	for try := 0; try < 8; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("LOOP_CTL_GET_FREE: %w", err)
		}
		path := fmt.Sprintf("/dev/loop%d", n)
		dev, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		cfg := unix.LoopConfig{Fd: uint32(img.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY | unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], file)
		err = unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) {
			dev.Close() // raced with another user of loopN: take the next
			continue
		}
		if err != nil {
			dev.Close()
			return nil, fmt.Errorf("LOOP_CONFIGURE %s on %s: %w", file, path, err)
		}
		return &Loop{Path: path, f: dev}, nil
	}
	return nil, errors.New("no free loop device after 8 tries")
}

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

// SetReadOnly marks a block device read-only in the kernel (blockdev
// --setro): any write to it, by anyone, fails. Used on a block-device origin
// so that not even a bug can write to the base.
func SetReadOnly(dev string) error {
	f, err := os.Open(dev)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.BLKROSET, 1); err != nil {
		return fmt.Errorf("BLKROSET %s: %w", dev, err)
	}
	return nil
}
