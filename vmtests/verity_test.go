package vmtests

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// canaryRoot is the test root with /canary, 256 KiB of noise that no
// compressor shrinks (so it lies on the medium byte for byte, in a
// container too, where a test can damage it), as an ext2 image.
var canaryRoot = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(built.dir, "canary")
	tool, err := os.ReadFile(filepath.Join(built.dir, "init"))
	if err != nil {
		return "", err
	}
	noise := make([]byte, 256<<10)
	rand.New(rand.NewSource(42)).Read(noise)
	tree := filepath.Join(dir, "tree")
	if err := mklive.BusyboxTree(tree, "", map[string]string{"sbin/init": guestInit, "bin/sandbox-init": string(tool), "canary": string(noise)}); err != nil {
		return "", err
	}
	img := filepath.Join(dir, "root.ext2")
	_, err = mklive.BuildRootImage(mklive.RootImageSpec{Tree: tree, Out: img, Label: "canary"})
	return img, err
})

// canaryNeedle is 64 bytes from the middle of /canary.
func canaryNeedle() []byte {
	noise := make([]byte, 256<<10)
	rand.New(rand.NewSource(42)).Read(noise)
	return noise[128<<10 : 128<<10+64]
}

// verityCD is a data CD with the canary root at path on it (a plain image,
// or with container, inside a zstd squashfs), its hash tree beside it, and
// the root hash. Without withTree the tree is left off the CD.
type verityCD struct {
	iso, image, root string
	container        bool
}

func makeVerityCD(t *testing.T, container, withTree bool) verityCD {
	t.Helper()
	img, err := canaryRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v := verityCD{iso: filepath.Join(dir, "cd.iso"), image: img, container: container}
	name := "initrd-ext2"
	if container {
		stage := filepath.Join(dir, "sq", "LiveOS")
		if err := os.MkdirAll(stage, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(img, filepath.Join(stage, "rootfs.img")); err != nil {
			t.Fatal(err)
		}
		v.image = filepath.Join(dir, "squashfs.img")
		if err := hostcmd.Run("mksquashfs", filepath.Dir(stage), v.image, "-comp", "zstd", "-noappend", "-no-xattrs", "-quiet"); err != nil {
			t.Fatal(err)
		}
		name = "LiveOS/squashfs.img"
	}
	// In the test's own directory: the plain image is shared by the
	// tests running in parallel, each with its own salt.
	tree := filepath.Join(dir, "image.verity")
	if v.root, err = mklive.VerityTree(v.image, tree, t.Name()); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{name: v.image}
	if withTree {
		files[name+".verity"] = tree
	}
	stage := filepath.Join(dir, "stage")
	for dst, src := range files {
		put(t, src, filepath.Join(stage, dst))
	}
	if err := hostcmd.Run("xorriso", "-as", "mkisofs", "-quiet", "-o", v.iso, "-V", "VERITY", "-r", stage); err != nil {
		t.Fatal(err)
	}
	return v
}

// params are the kernel parameters that boot the CD with verity.
func (v verityCD) params(extra ...string) []string {
	p := []string{"sandbox.verity=" + v.root}
	if v.container {
		p = append(p, "sandbox.image=/LiveOS/squashfs.img")
	}
	return append(p, extra...)
}

// damage flips one bit of the canary on the CD, as a scratch would, and
// returns the verity data block (of the image or container) it lies in.
func (v verityCD) damage(t *testing.T) uint64 {
	t.Helper()
	needle := canaryNeedle()
	img, err := os.ReadFile(v.image)
	if err != nil {
		t.Fatal(err)
	}
	inImage := bytes.Index(img, needle)
	iso, err := os.ReadFile(v.iso)
	if err != nil {
		t.Fatal(err)
	}
	inISO := bytes.Index(iso, needle)
	if inImage < 0 || inISO < 0 || bytes.Count(iso, needle) != 1 {
		t.Fatalf("the canary is not on the CD byte for byte (image %d, ISO %d)", inImage, inISO)
	}
	iso[inISO+10] ^= 0x04
	if err := os.WriteFile(v.iso, iso, 0o644); err != nil {
		t.Fatal(err)
	}
	return uint64(inImage+10) / 4096
}

// TestVerity boots media checked by dm-verity: a good one works, with the
// snapshot over the verity device; a flipped bit in a file's data, in a
// plain image or in a compressed container, makes that file's read fail
// and is named, block and all, on the console, in sandbox-init status and
// usage.json; with sandbox.oncorrupt=restart the machine restarts.
func TestVerity(t *testing.T) {
	t.Run("Good", func(t *testing.T) {
		t.Parallel()
		v := makeVerityCD(t, false, true)
		c := bootVM(t, vm{append: v.params("guest=verity"), drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}})
		if got := c.mustGuest(t, "canary"); got != "read" {
			t.Errorf("canary = %q", got)
		}
		if got := c.mustGuest(t, "verity"); !strings.HasPrefix(got, "OK") {
			t.Errorf("sandbox-init status: verity = %q", got)
		}
		if !c.contains("sandbox-init: verity: /initrd-ext2 (") || !c.contains("checked against /initrd-ext2.verity on every read, root hash "+v.root[:16]) {
			t.Error("the boot does not say the image is verified")
		}
		if c.contains("INTEGRITY") {
			t.Error("a good medium got an integrity alert")
		}
	})
	t.Run("GoodFastSHA256", func(t *testing.T) {
		// A CPU with SSSE3 and more (QEMU's "max"): sha256_ssse3 loads
		// before the target is made, and dm-verity hashes with it.
		t.Parallel()
		v := makeVerityCD(t, false, true)
		c := bootVM(t, vm{append: v.params(), qemu: []string{"-cpu", "max"}, drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}})
		if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
			t.Errorf("root = %q", got)
		}
		m := regexp.MustCompile(`verity: sha256 using implementation "([^"]+)"`).FindStringSubmatch(c.Text)
		if m == nil || m[1] == "sha256-generic" {
			t.Errorf("dm-verity's sha256: %v, want sha256_ssse3's", m)
		}
	})
	t.Run("GoodContainerToRAM", func(t *testing.T) {
		t.Parallel()
		v := makeVerityCD(t, true, true)
		c := bootVM(t, vm{append: v.params("sandbox.toram=yes", "sandbox.cowsize=64M"), qemu: []string{"-m", "1024"}, drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}})
		if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
			t.Errorf("root = %q", got)
		}
		st := c.guestState(t)
		if vs := st.Verity; vs == nil || vs.RootHash != v.root || vs.HashTree != "/LiveOS/squashfs.img.verity" || vs.Device != "/dev/mapper/sandbox-verity" {
			t.Errorf("state.json: verity %+v, want root_hash %s", vs, v.root)
		}
		if st.ImageInRAM != "/run/sandbox/toram/squashfs.img" {
			t.Errorf("state.json: image_in_ram %q", st.ImageInRAM)
		}
		if !c.contains("toram: /LiveOS/squashfs.img.verity copied into RAM") {
			t.Error("the hash tree was not copied into RAM with the image")
		}
	})
	for _, container := range []bool{false, true} {
		t.Run("FlippedBit/"+map[bool]string{false: "Plain", true: "Container"}[container], func(t *testing.T) {
			t.Parallel()
			v := makeVerityCD(t, container, true)
			block := v.damage(t)
			c := bootVM(t, vm{kernel: testvm.Std12, append: v.params("guest=verity"), drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}})
			if got := c.mustGuest(t, "canary"); !strings.HasPrefix(got, "failed: ") || !strings.Contains(got, "Input/output error") {
				t.Errorf("reading the damaged file: %q, want an I/O error", got)
			}
			image := "/initrd-ext2"
			if container {
				image = "/LiveOS/squashfs.img"
			}
			alert := fmt.Sprintf("INTEGRITY ERROR: the root image %s on /dev/sr0 is corrupted: data block %d failed dm-verity's check", image, block)
			if !c.contains(alert) {
				t.Errorf("the console lacks %q", alert)
			}
			if got := c.mustGuest(t, "verity"); !strings.HasPrefix(got, fmt.Sprintf("CORRUPTED: 1 block(s) of the image failed their check (data block %d)", block)) {
				t.Errorf("sandbox-init status: verity = %q", got)
			}
			if u := c.guestUsage(t); !u.VerityCorrupted || !slices.Equal(u.VerityBlocks, []string{fmt.Sprintf("data block %d", block)}) {
				t.Errorf("usage.json: verity_corrupted %v, verity_blocks %q", u.VerityCorrupted, u.VerityBlocks)
			}
		})
	}
	t.Run("FlippedBit/Screen", func(t *testing.T) {
		// On a PC with a monitor the alert is on the screen too.
		t.Parallel()
		v := makeVerityCD(t, false, true)
		block := v.damage(t)
		c := bootVM(t, vm{kernel: testvm.Std12, append: append(v.params("guest=verity", "hold=1"), pcConsoles...),
			drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}, screen: "GUEST hold"})
		t.Logf("screen:\n%s", c.Screen)
		if !strings.Contains(c.Screen, "sandbox-init: INTEGRITY ERROR: the root image /initrd-ext2") ||
			!strings.Contains(strings.ReplaceAll(c.Screen, "\n", ""), fmt.Sprintf("data block %d failed", block)) {
			t.Errorf("the screen lacks the integrity alert for data block %d", block)
		}
	})
	t.Run("FlippedBit/Restart", func(t *testing.T) {
		t.Parallel()
		v := makeVerityCD(t, false, true)
		v.damage(t)
		c := bootVM(t, vm{append: v.params("guest=verity", "sandbox.oncorrupt=restart"), drives: []testvm.Drive{{File: v.iso, Bus: testvm.IDE, CD: true}}})
		if !c.contains("a corrupted block: the machine restarts") || !c.contains("reboot: Restarting system with command 'dm-verity device corrupted'") {
			t.Error("sandbox.oncorrupt=restart did not restart the machine")
		}
		if _, ok := c.guest("canary"); ok {
			t.Error("the damaged file was read past")
		}
	})
}

// TestVerityBadInput: a medium or command line that does not match fails
// before the kernel reads a block, in phase "image", naming what does not
// match what, and takes the failure action.
func TestVerityBadInput(t *testing.T) {
	good := makeVerityCD(t, false, true)
	noTree := makeVerityCD(t, false, false)
	// Another image's hash tree on the CD, as a botched remaster would
	// have it: the command line is the image's own.
	foreign := makeVerityCD(t, false, true)
	// (The other image is 1 MiB longer than this one, whatever size
	// either has: the two test roots' sizes are equal at times.)
	otherImage := filepath.Join(t.TempDir(), "other.img")
	copyFile(t, built.rootImage, otherImage)
	if err := os.Truncate(otherImage, fileSize(t, foreign.image)+1<<20); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.verity")
	if _, err := mklive.VerityTree(otherImage, other, "other"); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(t.TempDir(), "stage")
	put(t, foreign.image, filepath.Join(stage, "initrd-ext2"))
	put(t, other, filepath.Join(stage, "initrd-ext2.verity"))
	if err := hostcmd.Run("xorriso", "-as", "mkisofs", "-quiet", "-o", foreign.iso, "-V", "VERITY", "-r", stage); err != nil {
		t.Fatal(err)
	}
	// The image's first block damaged: checked before the kernel's turn.
	first := makeVerityCD(t, false, true)
	iso, err := os.ReadFile(first.iso)
	if err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(first.image)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(iso, img[1024:1024+512]) // the ext2 superblock
	if at < 0 {
		t.Fatal("the image's superblock is not on the CD")
	}
	iso[at+100] ^= 1
	if err := os.WriteFile(first.iso, iso, 0o644); err != nil {
		t.Fatal(err)
	}
	wrongRoot := []byte(good.root)
	wrongRoot[5] = '0'
	if good.root[5] == '0' {
		wrongRoot[5] = '1'
	}
	for _, tc := range []struct {
		name   string
		cd     verityCD
		params []string
		expect []string
	}{
		{"WrongRootHash", good, []string{"sandbox.verity=" + string(wrongRoot)},
			[]string{"the root hash on the command line (sandbox.verity=" + string(wrongRoot[:16]) + "…) is not the one of the hash tree /initrd-ext2.verity"}},
		{"NoHashTree", noTree, noTree.params(), []string{"device: /initrd-ext2.verity", "no hash tree"}},
		{"ForeignHashTree", foreign, foreign.params(), []string{"device: /initrd-ext2.verity", "it is the tree of another image"}},
		{"DamagedFirstBlock", first, first.params(), []string{"/initrd-ext2 does not match its hash tree at block 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := expectFailure(t, vm{append: tc.params, drives: []testvm.Drive{{File: tc.cd.iso, Bus: testvm.IDE, CD: true}}}, "image", tc.expect...)
			if c.contains("sandbox-verity") {
				t.Error("a device-mapper device was made for a medium that does not match")
			}
		})
	}
}

// put copies a file, making its directory.
func put(t *testing.T, src, dst string) {
	t.Helper()
	if err := testvm.CopyFile(src, dst); err != nil {
		t.Fatal(err)
	}
}
