package superblock

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// run runs a tool the set-up installs (scripts/setup.sh), failing the
// test with its output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// blkid is what blkid -p shows of an image: TYPE, LABEL, UUID.
func blkid(t *testing.T, img string) map[string]string {
	out := run(t, "blkid", "-p", "-o", "export", img)
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = strings.ReplaceAll(v, `\ `, " ") // export escapes spaces
		}
	}
	return m
}

func head(t *testing.T, img string, n int) []byte {
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return b[:min(n, len(b))]
}

// TestAsTheToolsMadeThem: images made by mke2fs, mformat, xorriso and
// mksquashfs read as blkid reads them (type, label, UUID), ext4's free
// space as dumpe2fs counts it, FAT's label in its root directory too, and
// the ISO's primary volume descriptor gives its label and date.
func TestAsTheToolsMadeThem(t *testing.T) {
	dir := t.TempDir()
	ext := filepath.Join(dir, "ext.img")
	if err := os.WriteFile(ext, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(ext, 8<<20); err != nil {
		t.Fatal(err)
	}
	run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-L", "rootfs", "-U", "3e6be9de-8139-4a2f-9c44-010203040506", ext)
	fat := filepath.Join(dir, "fat.img")
	run(t, "mformat", "-i", fat, "-C", "-F", "-T", "131072", "-h", "64", "-s", "32", "-v", "MY STICK", "-N", "1234ABCD", "::")
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "a"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(dir, "cd.iso")
	run(t, "xorriso", "-as", "mkisofs", "-quiet", "-V", "SANDBOX", "--modification-date=2026112602550000", "-o", iso, tree)
	sq := filepath.Join(dir, "sq.img")
	run(t, "mksquashfs", tree, sq, "-quiet", "-no-progress")

	for _, img := range []string{ext, fat, iso, sq} {
		v, want := Probe(head(t, img, ProbeBytes)), blkid(t, img)
		if v.FS != want["TYPE"] || v.FS != "iso9660" && (v.Label != want["LABEL"] || v.UUID != want["UUID"]) {
			t.Errorf("%s: Probe = %+v; blkid says %v", filepath.Base(img), v, want)
		}
	}
	v := Probe(head(t, fat, ProbeBytes))
	b, _ := os.ReadFile(fat)
	if l, ok := DirLabel(v.FS, b[v.DirOff:v.DirOff+int64(v.DirLen)]); !ok || l != "MY STICK" {
		t.Errorf("FAT's root directory label: %q, %v", l, ok)
	}
	p, ok := FindPVD(func(sec int64) ([]byte, error) {
		b := head(t, iso, int(sec+1)*SectorSize)
		return b[sec*SectorSize:], nil
	}, 0)
	if want := blkid(t, iso); !ok || p.Label != want["LABEL"] || p.UUID != want["UUID"] || p.UUID != "2026-11-26-02-55-00-00" {
		t.Errorf("ISO's primary volume descriptor: %+v, %v; blkid says %v", p, ok, want)
	}
	bs, size, free, ok := ExtSpace(head(t, ext, 2048))
	var dBlocks, dFree, dBS uint64
	for _, l := range strings.Split(run(t, "dumpe2fs", "-h", ext), "\n") {
		k, val, _ := strings.Cut(l, ":")
		n, _ := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		switch k {
		case "Block count":
			dBlocks = n
		case "Free blocks":
			dFree = n
		case "Block size":
			dBS = n
		}
	}
	if !ok || bs != dBS || size != dBlocks*dBS || free != dFree*dBS || size != 8<<20 {
		t.Errorf("ExtSpace = %d, %d, %d, %v; dumpe2fs: %d blocks of %d, %d free", bs, size, free, ok, dBlocks, dBS, dFree)
	}
}
