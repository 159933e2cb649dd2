package mklive

import (
	"bytes"
	"compress/gzip"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"os"
	"path/filepath"
	"testing"
)

func TestImageSize(t *testing.T) {
	for _, tc := range []struct{ bytes, inodes, min, max uint64 }{
		{0, 0, 16 << 20, 17 << 20},
		{10 << 20, 500, 27 << 20, 29 << 20},
		{1 << 30, 40000, 1380 << 20, 1420 << 20},
	} {
		got := ImageSize(tc.bytes, tc.inodes)
		if got < tc.min || got > tc.max || got%(1<<20) != 0 {
			t.Errorf("ImageSize(%d, %d) = %d, want in [%d, %d] and MiB-aligned", tc.bytes, tc.inodes, got, tc.min, tc.max)
		}
		if got < tc.bytes {
			t.Errorf("ImageSize smaller than the data")
		}
	}
}

func TestTreeSize(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), make([]byte, 5000), 0o644)
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	os.Symlink("a", filepath.Join(dir, "d/l"))
	b, n, err := TreeSize(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("inodes = %d, want 4", n)
	}
	if b < 8192 {
		t.Errorf("bytes = %d, want the 5000-byte file rounded to 8192 at least", b)
	}
}

func TestBuildRootImageTooSmall(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big"), make([]byte, 3<<20), 0o644)
	_, err := BuildRootImage(RootImageSpec{Tree: dir, Out: filepath.Join(t.TempDir(), "x.img"), Size: 1 << 20})
	if err == nil {
		t.Fatal("a 3 MiB tree fit in 1 MiB")
	}
	_, err = BuildRootImage(RootImageSpec{Tree: filepath.Join(dir, "none"), Out: filepath.Join(t.TempDir(), "x.img")})
	if err == nil {
		t.Fatal("a missing tree was accepted")
	}
	_, err = BuildRootImage(RootImageSpec{Tree: dir, Out: "x", FSType: "xfs"})
	if err == nil {
		t.Fatal("xfs accepted")
	}
}

func TestFindKernelErrors(t *testing.T) {
	if _, err := FindKernel(t.TempDir(), ""); err == nil {
		t.Error("an empty tree was taken for a kernel")
	}
}

// Each compression must give back the bytes, in a format the kernel reads:
// xz with a CRC32 check (the kernel's decoder has no CRC64).
func TestCompress(t *testing.T) {
	raw := bytes.Repeat([]byte("070701 cpio newc record "), 5000)
	for _, m := range []string{"zstd", "xz", "gzip", ""} {
		packed, err := compress(m, raw)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(packed) >= len(raw)/10 {
			t.Errorf("%s: %d bytes from %d: not compressed", m, len(packed), len(raw))
		}
		var r io.Reader
		switch m {
		case "zstd", "":
			d, err := zstd.NewReader(bytes.NewReader(packed))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			r = d
		case "xz":
			if packed[6+1] != 0x01 { // stream flags: check type 1 = CRC32
				t.Errorf("xz check type %#x, want CRC32", packed[7])
			}
			if r, err = xz.NewReader(bytes.NewReader(packed)); err != nil {
				t.Fatal(err)
			}
		case "gzip":
			if r, err = gzip.NewReader(bytes.NewReader(packed)); err != nil {
				t.Fatal(err)
			}
		}
		back, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(back, raw) {
			t.Errorf("%s: round trip failed: %v", m, err)
		}
	}
	if _, err := compress("lz5", raw); err == nil {
		t.Error("an unknown compression was accepted")
	}
}
