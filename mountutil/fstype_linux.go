package mountutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sandbox-init/sandbox-init/superblock"
)

// DetectFS names the file system on a block device from its superblock's
// magic (superblock.FSType), reading the device only.
func DetectFS(dev string) (string, error) {
	f, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, superblock.ProbeBytes)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", fmt.Errorf("read %s: %w", dev, err)
	}
	fs := superblock.FSType(b[:n])
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
