package testvm

import (
	"os"
	"path/filepath"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/mklive"
	"github.com/sandbox-init/sandbox-init/modpolicy"
)

// Images are what the VM tests and the benchmark boot besides a kernel and
// its initramfs: the static init, and the test root (a busybox tree with
// the caller's /sbin/init and the init as /bin/sandbox-init) as an ext2
// image and on a data CD.
type Images struct {
	Dir  string
	Init string // the static sandbox-init: Dir/init
	Root string // the test root image, ext2: Dir/root.ext2
	CD   string // a data ISO holding Root as /initrd-ext2: Dir/cd.iso
}

// ImageSpec says what BuildImages makes.
type ImageSpec struct {
	Repo      string // the module root, where the init is built from
	Dir       string // where the images go
	GuestInit string // the test root's /sbin/init, a shell script
	RootSize  uint64 // the root image's size in bytes; 0 fits the tree
	RootLabel string // the root file system's label
	CDLabel   string // the data CD's volume label
}

// BuildImages builds the init, the test root's tree, its image and the
// data CD.
func BuildImages(s ImageSpec) (Images, error) {
	im := Images{Dir: s.Dir, Init: filepath.Join(s.Dir, "init"),
		Root: filepath.Join(s.Dir, "root.ext2"), CD: filepath.Join(s.Dir, "cd.iso")}
	if err := mklive.BuildInit(s.Repo, im.Init); err != nil {
		return im, err
	}
	tool, err := os.ReadFile(im.Init)
	if err != nil {
		return im, err
	}
	tree := filepath.Join(s.Dir, "tree")
	if err := mklive.BusyboxTree(tree, "", map[string]string{"sbin/init": s.GuestInit, "bin/sandbox-init": string(tool)}); err != nil {
		return im, err
	}
	if _, err := mklive.BuildRootImage(mklive.RootImageSpec{Tree: tree, Out: im.Root, Size: s.RootSize, Label: s.RootLabel}); err != nil {
		return im, err
	}
	return im, DataISO(im.CD, s.CDLabel, map[string]string{"initrd-ext2": im.Root})
}

// Initramfs builds the initramfs mklive makes by default for a kernel
// with the images' init: every driver it has (modpolicy.Default).
// edit, when not nil, changes the spec first.
func (im Images) Initramfs(k mklive.Kernel, out string, edit func(*mklive.InitramfsSpec)) (mklive.InitramfsReport, error) {
	return DefaultInitramfs(k, im.Init, out, edit)
}

// DefaultInitramfs builds the initramfs mklive makes by default for a
// kernel and an init, changed by edit (when not nil).
func DefaultInitramfs(k mklive.Kernel, init, out string, edit func(*mklive.InitramfsSpec)) (mklive.InitramfsReport, error) {
	req, opt := modpolicy.Default()
	spec := mklive.InitramfsSpec{Init: init, Kernel: k, Required: req, Optional: opt, Out: out}
	if edit != nil {
		edit(&spec)
	}
	return mklive.BuildInitramfs(spec)
}

// DataISO writes a plain (non-bootable) ISO 9660 image holding files:
// name on the CD -> file, hard-linked into a stage beside out.
func DataISO(out, label string, files map[string]string) error {
	stage, err := os.MkdirTemp(filepath.Dir(out), "stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	for name, src := range files {
		if err := os.Link(src, filepath.Join(stage, name)); err != nil {
			return err
		}
	}
	return hostcmd.Run("xorriso", "-as", "mkisofs", "-quiet", "-o", out, "-V", label, "-r", stage)
}

// CopyFile copies a file with its permissions, making dst's directory.
func CopyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, st.Mode().Perm())
}
