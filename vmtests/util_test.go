package vmtests

import (
	"path/filepath"

	"fmt"
	"github.com/sandbox-init/sandbox-init/mklive"
	"os"
	"strconv"
	"testing"
)

func fmtSscan(s string, v ...any) (int, error) { return fmt.Sscan(s, v...) }

// fileSectors is a file's size in 512-byte sectors, as a string.
func fileSectors(t *testing.T, p string) string {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(st.Size()/512, 10)
}

// reportInitCost logs the init's own cost: from the kernel's "Run /init"
// to the real init's first kmsg line.
func reportInitCost(t *testing.T, c console) {
	run, ok1 := c.kernelStamp(`Run /init as init process`)
	real, ok2 := c.kernelStamp(`realinit: first line`)
	if !ok1 || !ok2 {
		t.Logf("init cost: markers missing (Run /init %v, realinit %v)", ok1, ok2)
		return
	}
	t.Logf("init cost: Run /init at %.3fs, real init at %.3fs: %.0f ms", run, real, (real-run)*1000)
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// initramfsWith builds a variant of the test initramfs: the same init and
// default modules, changed by edit.
func initramfsWith(t *testing.T, edit func(*mklive.InitramfsSpec)) mklive.InitramfsReport {
	t.Helper()
	d, err := built.kernel.Deps()
	if err != nil {
		t.Fatal(err)
	}
	req, opt := mklive.DefaultModules(d)
	spec := mklive.InitramfsSpec{Init: filepath.Join(built.dir, "init"), Kernel: built.kernel,
		Required: req, Optional: opt, Out: filepath.Join(t.TempDir(), "initramfs.img")}
	edit(&spec)
	rep, err := mklive.BuildInitramfs(spec)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// writableBase copies the test root to a disk image QEMU may write to, and
// returns it with its sha256, to compare after the boot.
func writableBase(t *testing.T) (disk, sha string) {
	t.Helper()
	disk = filepath.Join(t.TempDir(), "disk.img")
	copyFile(t, built.rootImage, disk)
	return disk, sha256File(t, disk)
}
