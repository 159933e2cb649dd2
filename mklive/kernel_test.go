package mklive

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/u-root/u-root/pkg/cpio"
	"github.com/ulikunitz/xz"
)

// fixtureModules are a fake kernel's modules as a distribution ships them,
// compressed each its own way, with the modules.dep depmod would write.
var fixtureModules = map[string]string{
	"kernel/fs/ext4/ext4.ko.xz":              "xz",
	"kernel/fs/jbd2/jbd2.ko.zst":             "zst",
	"kernel/crypto/crc32c_generic.ko.gz":     "gz",
	"kernel/arch/x86/crypto/crc32c-intel.ko": "",
	"kernel/drivers/md/dm-mod.ko.xz":         "xz",
	"kernel/drivers/md/dm-snapshot.ko.zst":   "zst",
	"kernel/drivers/block/zram/zram.ko.gz":   "gz",
}

const fixtureDep = `kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko.zst
kernel/fs/jbd2/jbd2.ko.zst:
kernel/crypto/crc32c_generic.ko.gz:
kernel/arch/x86/crypto/crc32c-intel.ko:
kernel/drivers/md/dm-snapshot.ko.zst: kernel/drivers/md/dm-mod.ko.xz
kernel/drivers/md/dm-mod.ko.xz:
kernel/drivers/block/zram/zram.ko.gz:
`

const fixtureAlias = `alias crypto-crc32c crc32c_intel
alias crc32c crc32c_intel
alias crypto-crc32c crc32c_generic
alias crc32c crc32c_generic
alias fs-ext4 ext4
alias devname:mapper/control dm_mod
`

// fixtureSoftdep: ext4 wants crc32c by an alias of two modules, jbd2 a
// module this kernel lacks, zram a module not taken.
const fixtureSoftdep = `# Soft dependencies extracted from modules themselves.
softdep ext4 pre: crypto-crc32c
softdep jbd2 pre: no_such_module
softdep zram pre: crc32c_generic
`

// moduleBytes is a fake module's content: ELF-looking and compressible.
func moduleBytes(path string) []byte {
	return []byte(strings.Repeat("\x7fELF "+kmod.Name(path)+" fake module\n", 200))
}

func compressed(t *testing.T, how string, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	var w io.WriteCloser
	var err error
	switch how {
	case "":
		return b
	case "xz":
		w, err = xz.WriterConfig{CheckSum: xz.CRC32}.NewWriter(&out)
	case "zst":
		w, err = zstd.NewWriter(&out)
	case "gz":
		w = gzip.NewWriter(&out)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureKernel lays out kernel ver under root: its modules in modules
// (lib/modules or usr/lib/modules), its image at image (relative to root).
func fixtureKernel(t *testing.T, root, modules, ver, image string) {
	t.Helper()
	dir := filepath.Join(root, modules, ver)
	for p, how := range fixtureModules {
		writeFile(t, filepath.Join(dir, p), compressed(t, how, moduleBytes(p)))
	}
	writeFile(t, filepath.Join(dir, "modules.dep"), []byte(fixtureDep))
	writeFile(t, filepath.Join(dir, "modules.alias"), []byte(fixtureAlias))
	writeFile(t, filepath.Join(dir, "modules.softdep"), []byte(fixtureSoftdep))
	writeFile(t, filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/block/loop.ko\n"))
	if image != "" {
		writeFile(t, filepath.Join(root, image), []byte("bzImage "+ver))
	}
}

// readInitramfs unpacks a zstd-compressed newc cpio into name -> content.
func readInitramfs(t *testing.T, path string) map[string][]byte {
	t.Helper()
	packed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(packed))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, r := range recs {
		var b []byte
		if r.ReaderAt != nil {
			if b, err = io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize))); err != nil {
				t.Fatal(err)
			}
		}
		out[r.Name] = b
	}
	return out
}

func TestBuildInitramfsLayouts(t *testing.T) {
	for _, tc := range []struct{ name, modules, image string }{
		{"lib/modules", "lib/modules", "boot/vmlinuz-6.1.0-9-amd64"},
		{"usr/lib/modules", "usr/lib/modules", "usr/lib/modules/6.1.0-9-amd64/vmlinuz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const ver = "6.1.0-9-amd64"
			root := t.TempDir()
			fixtureKernel(t, root, tc.modules, ver, tc.image)
			k, err := FindKernel(root, "")
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, tc.modules, ver); k.ModulesDir() != want {
				t.Errorf("ModulesDir = %s, want %s", k.ModulesDir(), want)
			}
			if want := filepath.Join(root, tc.image); k.Vmlinuz() != want {
				t.Errorf("Vmlinuz = %s, want %s", k.Vmlinuz(), want)
			}
			initBin := filepath.Join(t.TempDir(), "init")
			writeFile(t, initBin, []byte("static init"))
			out := filepath.Join(t.TempDir(), "initrd.img")
			rep, err := BuildInitramfs(InitramfsSpec{Init: initBin, Kernel: k, Required: []string{"ext4", "dm_snapshot", "loop"}, Optional: []string{"isofs"}, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			// The modules.dep of the tree was there: depmod must not have
			// rewritten it.
			if b, _ := os.ReadFile(filepath.Join(k.ModulesDir(), "modules.dep")); string(b) != fixtureDep {
				t.Errorf("the tree's modules.dep was rewritten:\n%s", b)
			}
			files := readInitramfs(t, out)
			mdir := "lib/modules/" + ver + "/"

			// Every module decompressed, under its .ko name, and nothing
			// compressed left.
			wantMods := []string{"crc32c_generic", "crc32c_intel", "dm_mod", "dm_snapshot", "ext4", "jbd2"}
			got := slices.Clone(rep.Modules)
			slices.Sort(got)
			if !slices.Equal(got, wantMods) {
				t.Errorf("modules %v, want %v (ext4's soft dependencies in, zram out)", rep.Modules, wantMods)
			}
			var modBytes int64
			for p := range fixtureModules {
				if !slices.Contains(wantMods, kmod.Name(p)) {
					continue
				}
				plain := mdir + plainPath(p)
				if !strings.HasSuffix(plain, ".ko") {
					t.Fatalf("plainPath(%s) = %s", p, plain)
				}
				b, ok := files[plain]
				if !ok {
					t.Errorf("%s missing from the initramfs", plain)
					continue
				}
				if !bytes.Equal(b, moduleBytes(p)) {
					t.Errorf("%s: %d bytes, not the decompressed module", plain, len(b))
				}
				modBytes += int64(len(b))
			}
			for name := range files {
				for _, s := range moduleSuffixes {
					if strings.HasSuffix(name, ".ko"+s) {
						t.Errorf("%s is still compressed", name)
					}
				}
			}

			// Its own modules.dep names the .ko files it holds.
			dep, err := kmod.ParseDep(bytes.NewReader(files[mdir+"modules.dep"]))
			if err != nil {
				t.Fatal(err)
			}
			for m, p := range dep.Path {
				if !strings.HasSuffix(p, ".ko") {
					t.Errorf("modules.dep names %s for %s", p, m)
				}
				if _, ok := files[mdir+p]; !ok {
					t.Errorf("modules.dep names %s, not in the initramfs", p)
				}
			}
			if strings.Join(dep.Need["ext4"], " ") != "jbd2" || strings.Join(dep.Need["dm_snapshot"], " ") != "dm_mod" {
				t.Errorf("modules.dep lost dependencies: %v", dep.Need)
			}

			// Its own modules.softdep: resolved names, its modules only.
			sds, err := kmod.ParseSoftdep(bytes.NewReader(files[mdir+"modules.softdep"]))
			if err != nil {
				t.Fatal(err)
			}
			if len(sds) != 1 || sds[0].String() != "softdep ext4 pre: crc32c_intel crc32c_generic" {
				t.Errorf("modules.softdep = %q", files[mdir+"modules.softdep"])
			}

			// The report counts the decompressed bytes.
			var unpacked int64
			for _, b := range files {
				unpacked += int64(len(b))
			}
			if rep.Unpacked != unpacked || rep.Unpacked < modBytes {
				t.Errorf("Unpacked = %d, the archive holds %d bytes, %d of them modules", rep.Unpacked, unpacked, modBytes)
			}
			if st, err := os.Stat(out); err != nil || rep.Compressed != st.Size() {
				t.Errorf("Compressed = %d, file: %v %v", rep.Compressed, st, err)
			}
		})
	}
}

func TestFindKernelVersions(t *testing.T) {
	const a, b = "6.1.0-9-amd64", "6.12.38+deb13-amd64"
	one := t.TempDir()
	fixtureKernel(t, one, "usr/lib/modules", b, "boot/vmlinuz-"+b)
	k, err := FindKernel(one, "")
	if err != nil || k.Version != b {
		t.Errorf("one version: %+v, %v", k, err)
	}

	// Merged /usr: lib is a symlink to usr/lib, the version is listed once.
	merged := t.TempDir()
	fixtureKernel(t, merged, "usr/lib/modules", b, "usr/lib/modules/"+b+"/vmlinuz")
	if err := os.Symlink("usr/lib", filepath.Join(merged, "lib")); err != nil {
		t.Fatal(err)
	}
	if k, err := FindKernel(merged, ""); err != nil || k.Version != b {
		t.Errorf("merged /usr: %+v, %v", k, err)
	}

	// Two versions, one in each layout.
	two := t.TempDir()
	fixtureKernel(t, two, "lib/modules", a, "boot/vmlinuz-"+a)
	fixtureKernel(t, two, "usr/lib/modules", b, "usr/lib/modules/"+b+"/vmlinuz")
	_, err = FindKernel(two, "")
	if err == nil || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), "-kver") {
		t.Errorf("two versions, no -kver: %v", err)
	}
	for _, v := range []string{a, b} {
		k, err := FindKernel(two, v)
		if err != nil || k.Version != v {
			t.Errorf("FindKernel(%s) = %+v, %v", v, k, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(k.ModulesDir(), "modules.dep")); err != nil {
			t.Errorf("%s: ModulesDir %s: %v", v, k.ModulesDir(), err)
		}
	}
	if k, _ := FindKernel(two, b); k.ModulesDir() != filepath.Join(two, "usr/lib/modules", b) || k.Vmlinuz() != filepath.Join(two, "usr/lib/modules", b, "vmlinuz") {
		t.Errorf("usr/lib/modules kernel: %s %s", k.ModulesDir(), k.Vmlinuz())
	}
	_, err = FindKernel(two, "5.10.0-1-amd64")
	if err == nil || !strings.Contains(err.Error(), "5.10.0-1-amd64") || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Errorf("unknown -kver: %v", err)
	}

	// On the host's /, the running kernel is the default.
	release := func(v string) func() (string, error) { return func() (string, error) { return v, nil } }
	if k, err := findKernel(two, "", true, release(b)); err != nil || k.Version != b {
		t.Errorf("host default: %+v, %v", k, err)
	}
	if _, err := findKernel(two, "", true, release("6.18.0")); err == nil || !strings.Contains(err.Error(), "6.18.0") {
		t.Errorf("host running a kernel it lacks: %v", err)
	}
	if k, err := findKernel(two, a, true, release(b)); err != nil || k.Version != a {
		t.Errorf("host with -kver: %+v, %v", k, err)
	}

	// No image: the error says where it looked.
	noimg := t.TempDir()
	fixtureKernel(t, noimg, "usr/lib/modules", b, "")
	_, err = FindKernel(noimg, "")
	if err == nil || !strings.Contains(err.Error(), "boot/vmlinuz-"+b) || !strings.Contains(err.Error(), "usr/lib/modules/"+b+"/vmlinuz") {
		t.Errorf("no image: %v", err)
	}
	_, err = FindKernel(t.TempDir(), "")
	if err == nil || !strings.Contains(err.Error(), "usr/lib/modules") {
		t.Errorf("empty tree: %v", err)
	}
}

// A usr/lib/modules tree without modules.dep gets one from depmod, which
// reads BASE/lib/modules: the base is ROOT/usr.
func TestDepsRunsDepmod(t *testing.T) {
	if _, err := hostcmd.Need("depmod"); err != nil {
		t.Skip("depmod is not installed (Debian package kmod)")
	}
	for _, modules := range []string{"lib/modules", "usr/lib/modules"} {
		root := t.TempDir()
		const ver = "6.12.38+deb13-amd64"
		fixtureKernel(t, root, modules, ver, "boot/vmlinuz-"+ver)
		dir := filepath.Join(root, modules, ver)
		os.Remove(filepath.Join(dir, "modules.dep"))
		os.Remove(filepath.Join(dir, "modules.softdep"))
		k, err := FindKernel(root, "")
		if err != nil {
			t.Fatal(err)
		}
		d, err := k.Deps()
		if err != nil {
			t.Fatalf("%s: %v", modules, err)
		}
		if d.Path["ext4"] != "kernel/fs/ext4/ext4.ko.xz" || d.Path["jbd2"] != "kernel/fs/jbd2/jbd2.ko.zst" {
			t.Errorf("%s: depmod's modules.dep: %v", modules, d.Path)
		}
		if _, err := os.Stat(filepath.Join(dir, "modules.dep")); err != nil {
			t.Errorf("%s: %v", modules, err)
		}
	}
}

func TestModuleReader(t *testing.T) {
	dir := t.TempDir()
	var mr moduleReader
	defer mr.close()
	for i, how := range []string{"", "xz", "zst", "gz"} {
		name := fmt.Sprintf("m%d.ko", i)
		if how != "" {
			name += "." + how
		}
		want := moduleBytes(name)
		writeFile(t, filepath.Join(dir, name), compressed(t, how, want))
		got, err := mr.read(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
	}
	writeFile(t, filepath.Join(dir, "bad.ko.xz"), []byte("not xz"))
	if _, err := mr.read(filepath.Join(dir, "bad.ko.xz")); err == nil || !strings.Contains(err.Error(), "bad.ko.xz") {
		t.Errorf("a broken .ko.xz: %v", err)
	}
}
