package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/verity"
)

// treeFixture writes an image of n 4 KiB blocks and its hash tree, and
// returns their paths and the root hash.
func treeFixture(t *testing.T, n int) (image, tree, root string) {
	t.Helper()
	dir := t.TempDir()
	data := make([]byte, n*4096)
	rand.New(rand.NewSource(1)).Read(data)
	image, tree = filepath.Join(dir, "squashfs.img"), filepath.Join(dir, "squashfs.img.verity")
	if err := os.WriteFile(image, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := verity.Default(int64(len(data)), []byte("salt"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(tree)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := verity.Build(bytes.NewReader(data), f, p)
	if err != nil {
		t.Fatal(err)
	}
	return image, tree, hex.EncodeToString(r)
}

// The checks before the kernel takes over tell a wrong root hash, a
// damaged image and a damaged tree apart, each naming what does not
// match.
func TestVerityChecks(t *testing.T) {
	image, tree, root := treeFixture(t, 300)
	p, err := readTree(tree)
	if err != nil {
		t.Fatal(err)
	}
	rootB, _ := hex.DecodeString(root)
	if err := checkFirst(image, tree, p, rootB); err != nil {
		t.Fatalf("good image: %v", err)
	}
	msg := func(err error) string {
		var be *bootError
		if !errors.As(err, &be) {
			t.Fatalf("not a bootError: %v", err)
		}
		return be.Device + ": " + be.Err.Error() + " / " + be.Hint
	}
	wrong := bytes.Clone(rootB)
	wrong[0] ^= 1
	got := msg(verityMismatch(checkFirst(image, tree, p, wrong), "/LiveOS/squashfs.img", "/LiveOS/squashfs.img.verity", hex.EncodeToString(wrong)))
	if !strings.Contains(got, "root hash on the command line (sandbox.verity="+hex.EncodeToString(wrong)[:16]) || !strings.Contains(got, "different builds") {
		t.Errorf("wrong root: %s", got)
	}
	// A flipped byte in the first block of the image.
	b, _ := os.ReadFile(image)
	b[1030] ^= 0x10
	os.WriteFile(image, b, 0o644)
	got = msg(verityMismatch(checkFirst(image, tree, p, rootB), "/LiveOS/squashfs.img", "/LiveOS/squashfs.img.verity", root))
	if !strings.Contains(got, "/LiveOS/squashfs.img does not match its hash tree at block 0") {
		t.Errorf("flipped image byte: %s", got)
	}
	b[1030] ^= 0x10
	os.WriteFile(image, b, 0o644)
	// A flipped digest in the tree's lowest level, on block 0's path.
	start, _ := p.Levels()
	h, _ := os.ReadFile(tree)
	h[int(p.HashStart()+start[0])*4096] ^= 1
	os.WriteFile(tree, h, 0o644)
	if got := msg(verityMismatch(checkFirst(image, tree, p, rootB), "/img", "/img.verity", root)); !strings.Contains(got, "does not match its hash tree at block 0") {
		t.Errorf("flipped leaf digest: %s", got)
	}
	// Not a tree at all, and none.
	os.WriteFile(tree, make([]byte, 8192), 0o644)
	if _, err := readTree(tree); err == nil || !strings.Contains(err.Error(), "not a dm-verity hash tree") {
		t.Errorf("zeros as a tree: %v", err)
	}
	if _, err := readTree(tree + ".gone"); err == nil || !strings.Contains(err.Error(), "no hash tree") {
		t.Errorf("no tree: %v", err)
	}
	// A tree cut short.
	os.WriteFile(tree, h[:8192], 0o644)
	if _, err := readTree(tree); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("short tree: %v", err)
	}
}

func TestCPUHasFlag(t *testing.T) {
	info := "processor\t: 0\nflags\t\t: fpu sse2 ssse3 avx2\nbugs\t: \nprocessor\t: 1\nflags\t: fpu\n"
	if !cpuHasFlag(info, "ssse3") || cpuHasFlag(info, "sha_ni") || cpuHasFlag("flags : fpu sse2 pni", "ssse3") {
		t.Error("wrong flags read")
	}
	if !cpuHasFlag("no flags line", "ssse3") {
		t.Error("without a flags line the kernel must decide")
	}
}
