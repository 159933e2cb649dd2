package vmtests

import (
	"path/filepath"

	"fmt"
	"github.com/sandbox-init/sandbox-init/mklive"
	"os"
	"strconv"
	"testing"
	"time"
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
	if d, ok := c.InitCost(); ok {
		t.Logf("init cost: %v from Run /init to the real init", d.Round(time.Millisecond))
	} else {
		t.Logf("init cost: markers missing")
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// initramfsWith builds a variant of the cloud kernel's test initramfs: the
// same init and default modules, changed by edit.
func initramfsWith(t *testing.T, edit func(*mklive.InitramfsSpec)) mklive.InitramfsReport {
	t.Helper()
	rep, err := defaultInitramfs(built.kernel, filepath.Join(t.TempDir(), "initramfs.img"), edit)
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

// truncate makes a sparse file of n bytes.
func truncate(p string, n int64) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Truncate(n)
}
