package mklive

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// TreeSize walks a root tree and counts its bytes (rounded up to 4 KiB
// blocks, as the file system stores them) and its inodes.
func TreeSize(root string) (bytes uint64, inodes uint64, err error) {
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		inodes++
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() || info.IsDir() || info.Mode()&fs.ModeSymlink != 0 {
			bytes += (uint64(info.Size()) + 4095) &^ 4095
		}
		return nil
	})
	return bytes, inodes, err
}

// ImageSize is the size of a file system image for a tree of the given
// bytes and inodes: the data, 256 bytes an inode table entry with room for
// twice the inodes, 10% for metadata, and free space for the live system to
// write into (the file system, not only the COW store, must have room):
// a quarter of the data, at least 16 MiB. Rounded up to 1 MiB.
func ImageSize(bytes, inodes uint64) uint64 {
	n := bytes + 2*inodes*256
	n += n / 10
	n += max(16<<20, bytes/4)
	return (n + 1<<20 - 1) &^ (1<<20 - 1)
}

// RootImageSpec says how to build the root image.
type RootImageSpec struct {
	Tree   string // directory to copy in
	Out    string
	FSType string // ext2 (default) or ext4
	Size   uint64 // bytes; 0 computes it from the tree
	Label  string
}

// BuildRootImage makes an ext2/ext4 image of a tree with mke2fs -d. It
// returns the image size in bytes.
func BuildRootImage(s RootImageSpec) (uint64, error) {
	if s.FSType == "" {
		s.FSType = "ext2"
	}
	if s.FSType != "ext2" && s.FSType != "ext3" && s.FSType != "ext4" {
		return 0, fmt.Errorf("root image file system %q: mke2fs makes ext2, ext3 or ext4", s.FSType)
	}
	st, err := os.Stat(s.Tree)
	if err != nil || !st.IsDir() {
		return 0, fmt.Errorf("root tree %s is not a directory: %v", s.Tree, err)
	}
	b, inodes, err := TreeSize(s.Tree)
	if err != nil {
		return 0, fmt.Errorf("root tree %s: %w", s.Tree, err)
	}
	size := s.Size
	if size == 0 {
		size = ImageSize(b, inodes)
	} else if size < b {
		return 0, fmt.Errorf("root tree %s holds %d bytes: it does not fit in %d bytes (give a larger size or none)", s.Tree, b, size)
	}
	if err := os.Remove(s.Out); err != nil && !os.IsNotExist(err) {
		return 0, err
	}
	// 4 KiB blocks: a COW store with 4 KiB sectors (zram) makes the
	// snapshot's sectors 4 KiB too, and ext4 cannot mount a smaller block
	// size on it. mke2fs picks 1 KiB for small images otherwise.
	args := []string{"-q", "-F", "-t", s.FSType, "-b", "4096", "-m", "0", "-N", strconv.FormatUint(inodes*2+64, 10), "-d", s.Tree}
	if s.Label != "" {
		args = append(args, "-L", s.Label)
	}
	args = append(args, s.Out, strconv.FormatUint(size>>10, 10)+"k")
	if err := Run("mke2fs", args...); err != nil {
		return 0, fmt.Errorf("root tree %s does not fit in %d bytes or mke2fs failed: %w", s.Tree, size, err)
	}
	return size, nil
}
