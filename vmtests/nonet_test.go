package vmtests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// TestCDWithoutNetwork: the init mklive builds for a CD (-tags nonet) is
// smaller by the network code, boots the CD to the real init, and says
// at a sandbox.url typed at the boot prompt that it has no network, with
// the fix.
func TestCDWithoutNetwork(t *testing.T) {
	repo, err := testvm.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	init := filepath.Join(dir, "init-nonet")
	if err := mklive.BuildInit(repo, init, mklive.InitTags(false, "")...); err != nil {
		t.Fatal(err)
	}
	small, _ := os.Stat(init)
	full, _ := os.Stat(filepath.Join(built.dir, "init"))
	t.Logf("/init without the network %d bytes, with it %d", small.Size(), full.Size())
	if small.Size() > full.Size()-800_000 {
		t.Errorf("the init without the network is %d bytes, with it %d: not 0.8 MB smaller", small.Size(), full.Size())
	}
	rep, err := defaultInitramfs(built.kernel, filepath.Join(dir, "initramfs-nonet.img"), func(s *mklive.InitramfsSpec) { s.Init = init })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("its initramfs: %d bytes, the test's default %d", rep.Compressed, built.initramfs.Compressed)
	t.Run("CD", func(t *testing.T) {
		c := bootVM(t, vm{initramfs: rep.Path, qemu: []string{"-cdrom", built.cdISO}})
		if !c.contains("realinit: first line") {
			t.Error("the CD did not boot to the real init")
		}
	})
	t.Run("URL", func(t *testing.T) {
		expectFailure(t, vm{initramfs: rep.Path, append: []string{"sandbox.url=" + netServer + "/LiveOS/squashfs.img"}}, "net",
			"error: sandbox.url asks for a network boot, and this initramfs's sandbox-init was built without the network", "mklive -net")
	})
}
