package mklive

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/superblock"
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
	FSType string // ext2 (default; ext4 for a container) or ext4
	Size   uint64 // bytes; 0 computes it from the tree
	Label  string
	// Container makes the image for a compressed container (see
	// ContainerImageSize): a sparse file of generous size, ext4 by
	// default, with ext4's default inode ratio, its inode tables marked
	// zeroed (the kernel's ext4lazyinit would otherwise write them all
	// into the COW store at the first mount), and no journal unless
	// Journal says.
	Container bool
	// Journal gives a container's ext4 image a 16 MiB journal: for a
	// COW store kept across boots (sandbox.persistent=P), whose file
	// system must survive a crash. A RAM store gains nothing from one and
	// pays for every journal block twice, in the COW store and in RAM
	// (bench -work: 7% more COW and 10% more RAM per MiB of a tree copied).
	Journal bool
	// COW is the COW store's size in bytes when the command line gives it
	// (COWBytes): a container's image leaves at least that much free.
	COW uint64
	// Log, when set, hears how far mke2fs is on a long build.
	Log func(format string, args ...any)
}

// BuildRootImage makes an ext2/ext4 image of a tree with mke2fs -d. It
// returns the image size in bytes.
func BuildRootImage(s RootImageSpec) (uint64, error) {
	st, err := os.Stat(s.Tree)
	if err != nil || !st.IsDir() {
		return 0, fmt.Errorf("root tree %s is not a directory: %v", s.Tree, err)
	}
	b, inodes, err := TreeSize(s.Tree)
	if err != nil {
		return 0, fmt.Errorf("root tree %s: %w", s.Tree, err)
	}
	return buildRootImage(s, b, inodes)
}

// buildRootImage is BuildRootImage for a tree whose size is known.
func buildRootImage(s RootImageSpec, b, inodes uint64) (uint64, error) {
	if s.FSType == "" {
		s.FSType = "ext2"
		if s.Container {
			s.FSType = "ext4"
		}
	}
	if s.FSType != "ext2" && s.FSType != "ext3" && s.FSType != "ext4" {
		return 0, fmt.Errorf("root image file system %q: mke2fs makes ext2, ext3 or ext4", s.FSType)
	}
	if s.Log == nil {
		s.Log = func(string, ...any) {}
	}
	st, err := os.Stat(s.Tree)
	if err != nil || !st.IsDir() {
		return 0, fmt.Errorf("root tree %s is not a directory: %v", s.Tree, err)
	}
	size := s.Size
	switch {
	case size == 0 && s.Container:
		size = ContainerImageSize(b, s.COW)
	case size == 0:
		size = ImageSize(b, inodes)
	case size < b:
		return 0, fmt.Errorf("root tree %s holds %d bytes: it does not fit in %d bytes (give a larger size or none)", s.Tree, b, size)
	}
	if err := os.Remove(s.Out); err != nil && !os.IsNotExist(err) {
		return 0, err
	}
	// 4 KiB blocks: a COW store with 4 KiB sectors (zram) makes the
	// snapshot's sectors 4 KiB too, and ext4 cannot mount a smaller block
	// size on it. mke2fs picks 1 KiB for small images otherwise.
	n := inodes*2 + 64
	if s.Container {
		n = max(n, size/containerInodeRatio)
	}
	args := []string{"-q", "-F", "-t", s.FSType, "-b", "4096", "-m", "0", "-N", strconv.FormatUint(n, 10), "-d", s.Tree}
	if s.Label != "" {
		args = append(args, "-L", s.Label)
	}
	if s.Container {
		// A new sparse file reads as zeros: nothing to zero, and the
		// holes stay holes for the squashfs.
		f, err := os.Create(s.Out)
		if err != nil {
			return 0, err
		}
		err = f.Truncate(int64(size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, err
		}
		args = append(args, "-E", zeroedTablesOption())
		switch {
		case s.FSType == "ext2":
		case s.Journal:
			args = append(args, "-J", "size="+strconv.Itoa(containerJournal))
		default:
			args = append(args, "-O", "^has_journal")
		}
	}
	args = append(args, s.Out, strconv.FormatUint(size>>10, 10)+"k")
	if err := hostcmd.RunProgress(s.Log, "root image ("+s.FSType+")", b, "mke2fs", args...); err != nil {
		return 0, fmt.Errorf("root tree %s does not fit in %d bytes or mke2fs failed: %w", s.Tree, size, err)
	}
	return size, nil
}

// zeroedTablesOption is the mke2fs -E option that leaves a new image's
// inode tables marked zeroed, so that the kernel's ext4lazyinit thread
// writes nothing at mount: assume_storage_prezeroed (e2fsprogs 1.47: the
// file is new and sparse, so nothing is written and the image stays
// sparse), or, for an older mke2fs, lazy_itable_init=0 (the tables are
// written as zeros, which the squashfs stores as holes all the same).
func zeroedTablesOption() string {
	if v, ok := mke2fsVersion(); ok && (v[0] > 1 || v[0] == 1 && v[1] >= 47) {
		return "assume_storage_prezeroed=1"
	}
	return "lazy_itable_init=0,lazy_journal_init=0"
}

// mke2fsVersion is mke2fs's version, major and minor ("mke2fs 1.47.0
// (5-Feb-2023)" on stderr for -V).
func mke2fsVersion() ([2]int, bool) {
	p, err := hostcmd.Need("mke2fs")
	if err != nil {
		return [2]int{}, false
	}
	out, _ := exec.Command(p, "-V").CombinedOutput()
	m := regexp.MustCompile(`mke2fs (\d+)\.(\d+)`).FindSubmatch(out)
	if m == nil {
		return [2]int{}, false
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return [2]int{major, minor}, true
}

// ImageUsage is what an image file takes: its apparent size and the bytes
// allocated to it on disk (less for a sparse file).
func ImageUsage(path string) (apparent, used uint64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	apparent = uint64(st.Size())
	used = apparent
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		used = uint64(sys.Blocks) * 512
	}
	return apparent, used, nil
}

// ImageFree is the free space of an ext2/3/4 image, from its superblock:
// free blocks times the block size (mklive's images reserve none for
// root; superblock.ExtSpace leaves reserved blocks out).
func ImageFree(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b := make([]byte, 2048) // ext2/3/4's superblock is at 1 KiB
	if _, err := io.ReadFull(f, b); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	_, _, free, ok := superblock.ExtSpace(b)
	if !ok {
		return 0, fmt.Errorf("%s holds no ext2/3/4 file system", path)
	}
	return free, nil
}
