package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// debianBuild is one way of packing scripts/setup.sh's Debian root: an
// ISO with a -container, or mksquashfs of the tree itself.
type debianBuild struct {
	name      string
	container string // mklive.LiveCD's -container; "" for mksquashfs
	squash    string // mksquashfs's -comp for the tree
	times     []float64
	built     // of the last build
}

// benchDebian builds each way -n times, in turn, from a tree already read
// once (so that no build pays for a cold page cache).
func benchDebian(repo string, img *images, n int) (table, error) {
	root := filepath.Join(testvm.CacheDir(repo), "debian-root")
	if _, err := os.Stat(filepath.Join(root, "etc")); err != nil {
		return table{}, fmt.Errorf("-debian: %w (scripts/setup.sh makes the Debian root)", err)
	}
	treeBytes, inodes, err := mklive.TreeSize(root)
	if err != nil {
		return table{}, err
	}
	logf("-debian: reading %s (%s, %d files) into the page cache", root, config.HumanBytes(treeBytes), inodes)
	if err := readTree(root); err != nil {
		return table{}, err
	}
	bs := []*debianBuild{
		{name: "ISO, -container zstd", container: "zstd"},
		{name: "ISO, -container xz", container: "xz"},
		{name: "ISO, -container none", container: "none"},
		{name: "mksquashfs of the tree, zstd", squash: "zstd"},
		{name: "mksquashfs of the tree, xz", squash: "xz"},
	}
	for i := 1; i <= n; i++ {
		for j, b := range bs {
			out := filepath.Join(img.Dir, fmt.Sprintf("debian-%d", j))
			if err := b.build(img, root, out); err != nil {
				return table{}, fmt.Errorf("-debian, %s: %w", b.name, err)
			}
			_ = os.Remove(out)
			logf("-debian %d/%d %-30s %.1f s, %d bytes", i, n, b.name, last(b.times), b.size())
		}
	}
	return debianTable(bs, n, treeBytes, inodes), nil
}

func (b *debianBuild) build(img *images, root, out string) error {
	if b.squash == "" {
		d, err := liveCD(img, root, b.container, "BENCHDEBIAN", out)
		if err != nil {
			return err
		}
		b.built = d
		b.times = append(b.times, d.took.Seconds())
		return nil
	}
	start := time.Now()
	if err := hostcmd.Run("mksquashfs", root, out, "-noappend", "-no-progress", "-quiet", "-comp", b.squash, "-b", "1M"); err != nil {
		return err
	}
	b.took = time.Since(start)
	b.times = append(b.times, b.took.Seconds())
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	b.rootBytes = st.Size()
	return nil
}

// size is what the build made: the ISO, or the tree's squashfs.
func (b *debianBuild) size() int64 {
	if b.squash != "" {
		return b.rootBytes
	}
	return b.isoBytes
}

// readTree reads every file under root once.
func readTree(root string) error {
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, f)
		return err
	})
}

func debianTable(bs []*debianBuild, n int, treeBytes, inodes uint64) table {
	t := table{
		title: fmt.Sprintf("The Debian root (%s, %d files): ISO per -container, and mksquashfs of the tree (%d builds each; median (min–max))", config.HumanBytes(treeBytes), inodes, n),
		head:  []string{"build", "ISO (bytes)", "squashfs or image on the ISO (bytes)", "vs mksquashfs of the tree", "build time (s)", "/ free (mklive)"},
	}
	tree := map[string]int64{}
	for _, b := range bs {
		if b.squash != "" {
			tree[b.squash] = b.rootBytes
		}
	}
	for _, b := range bs {
		vs, free := "—", b.free
		if n := tree[b.container]; n > 0 {
			vs = fmt.Sprintf("%.3f", float64(b.rootBytes)/float64(n))
		}
		if free == "" {
			free = "—"
		}
		t.rows = append(t.rows, []string{b.name, human(b.isoBytes), human(b.rootBytes), vs, cell(b.times, "%.1f"), free})
	}
	return t
}
