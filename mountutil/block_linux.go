package mountutil

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// blockIoctl opens a block device read-only and runs one ioctl on its fd,
// naming the ioctl and the device in the error. Reading a size or setting
// the read-only flag needs no write access, so a read-only open serves all.
func blockIoctl(dev, ioctl string, do func(fd int) error) error {
	f, err := os.Open(dev)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := do(int(f.Fd())); err != nil {
		return fmt.Errorf("%s %s: %w", ioctl, dev, err)
	}
	return nil
}

// blockGet reads one value off a block device with a get ioctl (request
// req, named ioctl in errors); the zero value on failure.
func blockGet[T any](dev, ioctl string, get func(fd int, req uint) (T, error), req uint) (T, error) {
	var v T
	err := blockIoctl(dev, ioctl, func(fd int) (err error) {
		v, err = get(fd, req)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// Sectors returns the size of a block device in 512-byte sectors.
func Sectors(dev string) (uint64, error) {
	n, err := blockGet(dev, "BLKGETSIZE64", unix.IoctlGetUint64, unix.BLKGETSIZE64)
	return n / 512, err
}

// LogicalBlockSize returns a block device's logical sector size in bytes.
func LogicalBlockSize(dev string) (int, error) {
	return blockGet(dev, "BLKSSZGET", unix.IoctlGetInt, unix.BLKSSZGET)
}

// SetReadOnly marks a block device read-only in the kernel (blockdev
// --setro): any write to it, by anyone, fails. Used on a block-device origin
// so that not even a bug can write to the base.
func SetReadOnly(dev string) error {
	return blockIoctl(dev, "BLKROSET", func(fd int) error {
		return unix.IoctlSetPointerInt(fd, unix.BLKROSET, 1)
	})
}

// ZeroStart writes n zero bytes at the start of a block device and flushes
// them: it clears a header (a snapshot store's) so that nothing from an
// earlier use is found again. The device is opened exclusively: one that
// is mounted or held by device-mapper is refused (EBUSY), not written.
func ZeroStart(dev string, n int) error {
	f, err := OpenExclusive(dev)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, n), 0); err != nil {
		return fmt.Errorf("clear the first %d bytes of %s: %w", n, dev, err)
	}
	return f.Sync()
}

// OpenExclusive opens a block device for writing with O_EXCL, which the
// kernel refuses (EBUSY) while a file system, device-mapper or another
// exclusive opener holds it.
func OpenExclusive(dev string) (*os.File, error) {
	return os.OpenFile(dev, os.O_WRONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
}

// ext4ResizeFS is EXT4_IOC_RESIZE_FS, _IOW('f', 16, __u64): grow a mounted
// ext2/3/4 file system to a number of blocks (online resize).
const ext4ResizeFS = 0x40086610

// GrowExt4 grows the ext2/3/4 file system mounted on dir to blocks blocks
// of its device, online.
func GrowExt4(dir string, blocks uint64) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	n := blocks
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), ext4ResizeFS, uintptr(unsafe.Pointer(&n))); errno != 0 {
		return fmt.Errorf("EXT4_IOC_RESIZE_FS %s to %d blocks: %w", dir, blocks, errno)
	}
	return nil
}
