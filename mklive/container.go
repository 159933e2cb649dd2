package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// The compressed container: the root image, a sparse ext4 file system with
// room to write, inside a squashfs, laid out as Fedora's LiveOS so that
// sandbox-init (and dracut's dmsquash-live) find it: the CD holds
// LiveOS/squashfs.img, which holds LiveOS/rootfs.img. The image's free
// space is zeros, and squashfs stores a block of zeros as a hole: a 4 GiB
// image of a 263 MiB Debian root packs as small as the tree itself.
const (
	// ContainerPath is where a container goes on the CD, and so the CD's
	// sandbox.image.
	ContainerPath = "/LiveOS/squashfs.img"
	// ContainerImage is the root image's path inside the squashfs.
	ContainerImage = "LiveOS/rootfs.img"
	// PlainImagePath is where a root image without a container goes on
	// the CD: the how-to's name, sandbox.image's default.
	PlainImagePath = "/initrd-ext2"
)

// Containers are the values of -container: a squashfs compressed with
// zstd (the default: fast to build and to read) or xz (about 8% smaller,
// several times slower to build and to read), or none (the image stored
// as it is, at /initrd-ext2).
var Containers = []string{"zstd", "xz", "none"}

// CheckContainer says whether c is a container mklive makes; "" is none.
func CheckContainer(c string) error {
	if c == "" || slices.Contains(Containers, c) {
		return nil
	}
	return fmt.Errorf("-container %q: want zstd, xz or none (zstd and xz put the root image in a compressed squashfs, none stores it as it is)", c)
}

// squashfsBlock is the squashfs block size. Measured on the Debian root of
// scripts/setup.sh in a 4 GiB ext4 image, zstd: 1 MiB packs to 106.9 MB,
// 256 KiB to 107.5 MB and 128 KiB (mksquashfs's default) to 110.1 MB,
// while reading every file of the mounted image back costs the same (1.1 s
// cold); xz at 1 MiB: 98.4 MB. The tree itself in a squashfs at 1 MiB:
// 106.4 MB (zstd), 97.9 MB (xz). 128 KiB, not 1 MiB: every first read of
// a 4 KiB block of the image decompresses the whole squashfs block that
// holds it, and dm-verity hashes all of its compressed bytes, while the
// boot's reads (ext4's metadata, the real init and what it loads) are
// scattered: under -icount, the Live CD's Run /init -> switch_root 1.130
// -> 1.055 s, the real init's first line 0.39 -> 0.26 s after it, for 3%
// more on the CD (issue 24; docs/benchmark.md).
const squashfsBlock = "128K"

// Room to write: a root image in a container is made generous, since its
// free space costs next to nothing on the CD.
const (
	// minContainerImage is the smallest default image: 4 GiB.
	minContainerImage = 4 << 30
	// containerJournal is the ext4 journal, in MiB, when there is one
	// (RootImageSpec.Journal: a persistent COW store): small, because
	// every journal block written lands in the COW store (mke2fs would
	// make 64 MiB for 4 GiB).
	containerJournal = 16
	// containerInodeRatio is ext4's default: one inode per 16 KiB, so the
	// live system has the inodes a normal installation would.
	containerInodeRatio = 16 << 10
)

// ContainerImageSize is the default size of a root image that goes into a
// container, for a tree of treeBytes: max(4 GiB, 4 × the tree), and at
// least the tree plus cow (the COW store's size, when the command line
// gives it in bytes; 0 otherwise) with the file system's own metadata, so
// that / has at least as much room as the COW store. Rounded up to 1 GiB.
func ContainerImageSize(treeBytes, cow uint64) uint64 {
	n := max(minContainerImage, 4*treeBytes)
	if cow > 0 {
		// Inode tables take 1/64 of the image (256 bytes an inode, an
		// inode per 16 KiB); the journal, bitmaps, group descriptors and
		// the blocks reserved for growth (resize_inode) stay under 1/64
		// more.
		need := treeBytes + treeBytes/10 + cow + containerJournal<<20
		n = max(n, need+need/16)
	}
	return (n + 1<<30 - 1) &^ (1<<30 - 1)
}

// COWBytes is the size of the COW store a configuration asks for, when it
// is known at build time: a RAM store (brd or zram) of sandbox.cowsize in
// bytes. A share of RAM, or a disk, gives 0.
func COWBytes(c config.Config) uint64 {
	if c.COW.InRAM() && c.COWSize.Percent == 0 {
		return c.COWSize.Bytes
	}
	return 0
}

// checkSquashfs reads the kernel's configuration (boot/config-VERSION, or
// config beside its modules), when the tree has it, and says whether its
// squashfs can read a container compressed with method.
func checkSquashfs(k Kernel, method string) error {
	var cfg []byte
	var file string
	for _, p := range []string{filepath.Join(k.Root, "boot", "config-"+k.Version), filepath.Join(k.ModulesDir(), "config")} {
		if b, err := os.ReadFile(p); err == nil {
			cfg, file = b, p
			break
		}
	}
	if cfg == nil {
		return nil
	}
	opt := "CONFIG_SQUASHFS_" + strings.ToUpper(method)
	lines := strings.Split(string(cfg), "\n")
	if !slices.Contains(lines, "CONFIG_SQUASHFS=y") && !slices.Contains(lines, "CONFIG_SQUASHFS=m") {
		return fmt.Errorf("kernel %s has no squashfs (CONFIG_SQUASHFS in %s): build the CD with -container none", k.Version, file)
	}
	if !slices.Contains(lines, opt+"=y") {
		other := map[string]string{"zstd": "xz", "xz": "zstd"}[method]
		return fmt.Errorf("kernel %s's squashfs cannot read %s (%s is not set in %s): use -container %s or none", k.Version, method, opt, file, other)
	}
	return nil
}

// SquashfsSpec says how to pack a root image into a container.
type SquashfsSpec struct {
	Image       string // the root image, stored as LiveOS/rootfs.img
	Out         string // the squashfs to write
	Compression string // zstd (default) or xz
	Log         func(format string, args ...any)
}

// BuildSquashfs packs a root image into a squashfs as LiveOS/rootfs.img
// (mksquashfs, from squashfs-tools): 128 KiB blocks, zstd at mksquashfs's
// level 15 or xz, the image's runs of zeros stored as holes. It returns
// the squashfs's size.
func BuildSquashfs(s SquashfsSpec) (uint64, error) {
	if s.Compression == "" {
		s.Compression = "zstd"
	}
	if s.Compression != "zstd" && s.Compression != "xz" {
		return 0, fmt.Errorf("squashfs compression %q: want zstd or xz", s.Compression)
	}
	if s.Log == nil {
		s.Log = func(string, ...any) {}
	}
	if _, err := hostcmd.Need("mksquashfs"); err != nil {
		return 0, err
	}
	st, err := os.Stat(s.Image)
	if err != nil {
		return 0, fmt.Errorf("root image: %w", err)
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("root image %s is not a file", s.Image)
	}
	stage, err := os.MkdirTemp(filepath.Dir(s.Out), ".squashfs-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(stage)
	if err := link(s.Image, filepath.Join(stage, ContainerImage)); err != nil {
		return 0, err
	}
	if err := os.Remove(s.Out); err != nil && !os.IsNotExist(err) {
		return 0, err
	}
	args := []string{stage, s.Out, "-noappend", "-no-progress", "-quiet", "-no-xattrs", "-all-root",
		"-comp", s.Compression, "-b", squashfsBlock}
	if err := hostcmd.RunProgress(s.Log, "squashfs ("+s.Compression+")", uint64(st.Size()), "mksquashfs", args...); err != nil {
		return 0, err
	}
	out, err := os.Stat(s.Out)
	if err != nil {
		return 0, err
	}
	return uint64(out.Size()), nil
}

// humanSize is config.HumanBytes with GiB from 1 GiB on ("4.0 GiB"), for
// the sizes of sparse images.
func humanSize(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return config.HumanBytes(n)
}
