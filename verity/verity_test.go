package verity

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sample returns n blocks of bs bytes of reproducible noise, with some
// blocks all zeros (as in a sparse image).
func sample(n, bs int) []byte {
	b := make([]byte, n*bs)
	rand.New(rand.NewSource(int64(n))).Read(b)
	for i := 0; i < n; i += 3 {
		clear(b[i*bs : (i+1)*bs])
	}
	return b
}

func build(t *testing.T, data []byte, p Params) ([]byte, string) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "hash"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	root, err := Build(bytes.NewReader(data), f, p)
	if err != nil {
		t.Fatal(err)
	}
	return root, f.Name()
}

// TestMatchesVeritysetup compares the hash device and the root hash with
// cryptsetup's veritysetup (installed by scripts/setup.sh), byte for byte,
// for trees of one to three levels, with 512-byte blocks so that each
// level stays small (16 sha256 digests a hash block).
func TestMatchesVeritysetup(t *testing.T) {
	vs, err := exec.LookPath("veritysetup")
	if err != nil {
		t.Fatal("veritysetup not found: install cryptsetup-bin (scripts/setup.sh does)")
	}
	salt, _ := hex.DecodeString("00112233445566778899aabbccddeeff")
	uuid := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef, 0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	for _, tc := range []struct {
		blocks int
		bs     uint32
		alg    string
	}{{1, 512, "sha256"}, {2, 512, "sha256"}, {16, 512, "sha256"}, {17, 512, "sha256"}, {256, 512, "sha256"},
		{300, 512, "sha256"}, {4097, 512, "sha256"}, {40, 4096, "sha256"}, {33, 1024, "sha512"}} {
		data := sample(tc.blocks, int(tc.bs))
		dir := t.TempDir()
		df, hf := filepath.Join(dir, "data"), filepath.Join(dir, "hash.vs")
		if err := os.WriteFile(df, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(vs, "format", "--salt", hex.EncodeToString(salt), "--uuid", "12345678-9abc-4def-8123-456789abcdef",
			"--data-block-size", itoa(tc.bs), "--hash-block-size", itoa(tc.bs), "--hash", tc.alg, df, hf).CombinedOutput()
		if err != nil {
			t.Fatalf("veritysetup: %v: %s", err, out)
		}
		m := regexp.MustCompile(`Root hash:\s+([0-9a-f]+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("no root hash in %s", out)
		}
		p := Params{Algorithm: tc.alg, DataBlockSize: tc.bs, HashBlockSize: tc.bs, DataBlocks: uint64(tc.blocks), Salt: salt, UUID: uuid}
		root, ours := build(t, data, p)
		if hex.EncodeToString(root) != string(m[1]) {
			t.Errorf("%d blocks of %d (%s): root %x, veritysetup %s", tc.blocks, tc.bs, tc.alg, root, m[1])
		}
		a, _ := os.ReadFile(ours)
		b, _ := os.ReadFile(hf)
		if !bytes.Equal(a, b) {
			t.Errorf("%d blocks of %d: hash device differs from veritysetup's (%d vs %d bytes)", tc.blocks, tc.bs, len(a), len(b))
		}
		if int64(len(a)) != p.HashDeviceSize() {
			t.Errorf("%d blocks: HashDeviceSize %d, built %d", tc.blocks, p.HashDeviceSize(), len(a))
		}
		// veritysetup verifies ours too.
		if out, err := exec.Command(vs, "verify", df, ours, hex.EncodeToString(root)).CombinedOutput(); err != nil {
			t.Errorf("%d blocks: veritysetup verify: %v: %s", tc.blocks, err, out)
		}
	}
}

func itoa(n uint32) string {
	return strconv.FormatUint(uint64(n), 10)
}

func TestSuperblockRoundTrip(t *testing.T) {
	p := Params{Algorithm: "sha256", DataBlockSize: 4096, HashBlockSize: 4096, DataBlocks: 12345, Salt: []byte{1, 2, 3}, UUID: [16]byte{9}}
	q, err := ParseSuperblock(p.Superblock())
	if err != nil {
		t.Fatal(err)
	}
	if q.Algorithm != p.Algorithm || q.DataBlocks != p.DataBlocks || !bytes.Equal(q.Salt, p.Salt) || q.UUID != p.UUID || q.DataBlockSize != 4096 {
		t.Errorf("round trip: %+v, want %+v", q, p)
	}
	bad := p.Superblock()
	bad[0] = 'x'
	if _, err := ParseSuperblock(bad); err == nil {
		t.Error("a superblock without the signature was accepted")
	}
	bad = p.Superblock()
	bad[64] = 3 // data block size 4099
	if _, err := ParseSuperblock(bad); err == nil {
		t.Error("a data block size that is no power of two was accepted")
	}
	if _, err := ParseSuperblock(p.Superblock()[:100]); err == nil {
		t.Error("a short superblock was accepted")
	}
}

// TestCheckBlock finds a flipped byte in data, in each level of the
// tree, and a wrong root, and names where.
func TestCheckBlock(t *testing.T) {
	const n, bs = 300, 512
	data := sample(n, bs)
	p := Params{Algorithm: "sha256", DataBlockSize: bs, HashBlockSize: bs, DataBlocks: n, Salt: []byte("salt")}
	root, hf := build(t, data, p)
	hash, _ := os.ReadFile(hf)
	for _, blk := range []uint64{0, 1, 17, n - 1} {
		if err := CheckBlock(bytes.NewReader(data), bytes.NewReader(hash), p, root, blk); err != nil {
			t.Errorf("good block %d: %v", blk, err)
		}
	}
	bad := bytes.Clone(data)
	bad[17*bs+100] ^= 1
	var me *MismatchError
	if err := CheckBlock(bytes.NewReader(bad), bytes.NewReader(hash), p, root, 17); !errors.As(err, &me) || me.Level != 0 || me.Block != 17 {
		t.Errorf("flipped data: %v", err)
	}
	if err := CheckBlock(bytes.NewReader(bad), bytes.NewReader(hash), p, root, 16); err != nil {
		t.Errorf("a neighbour of the flipped block: %v", err)
	}
	start, _ := p.Levels()
	if len(start) != 3 {
		t.Fatalf("levels %v: want 3 for 300 blocks of 16 digests", start)
	}
	for lvl := range start {
		h := bytes.Clone(hash)
		// The digest on block 0's path at this level.
		h[int(p.HashStart()+start[lvl])*bs+3] ^= 0x80
		err := CheckBlock(bytes.NewReader(data), bytes.NewReader(h), p, root, 0)
		if !errors.As(err, &me) || me.Level != lvl {
			t.Errorf("flipped digest at level %d: %v", lvl, err)
		}
		// Past the digests of the top block, in its zero padding: only
		// the root hash can tell.
		if lvl == len(start)-1 {
			h = bytes.Clone(hash)
			h[int(p.HashStart()+start[lvl])*bs+bs-1] ^= 1
			err := CheckBlock(bytes.NewReader(data), bytes.NewReader(h), p, root, 0)
			if !errors.As(err, &me) || me.Level != -1 {
				t.Errorf("flipped padding of the top block: %v", err)
			}
		}
	}
	wrong := bytes.Clone(root)
	wrong[0] ^= 1
	if err := CheckBlock(bytes.NewReader(data), bytes.NewReader(hash), p, wrong, 5); !errors.As(err, &me) || me.Level != -1 {
		t.Errorf("wrong root: %v", err)
	}
	if err := CheckBlock(bytes.NewReader(data), bytes.NewReader(hash), p, root, n); err == nil {
		t.Error("a block past the end was checked")
	}
}

func TestDefaultAndParseRoot(t *testing.T) {
	if _, err := Default(4095, nil); err == nil {
		t.Error("a size that is not a multiple of 4096 was accepted")
	}
	p, err := Default(1<<20, []byte{1})
	if err != nil || p.DataBlocks != 256 {
		t.Errorf("Default(1 MiB) = %+v, %v", p, err)
	}
	for _, s := range []string{"", "xyz", "00", "0g" + string(bytes.Repeat([]byte("0"), 62))} {
		if _, err := ParseRoot(s); err == nil {
			t.Errorf("ParseRoot(%q) accepted", s)
		}
	}
	if _, err := ParseRoot(string(bytes.Repeat([]byte("ab"), 32))); err != nil {
		t.Error(err)
	}
}

// FuzzParseSuperblock: whatever a hash file holds, parsing it returns
// checked parameters or an error, never a panic.
func FuzzParseSuperblock(f *testing.F) {
	p := Params{Algorithm: "sha256", DataBlockSize: 4096, HashBlockSize: 4096, DataBlocks: 7, Salt: []byte{1}}
	f.Add(p.Superblock())
	f.Add([]byte("verity\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseSuperblock(b)
		if err == nil {
			if q.Check() != nil {
				t.Fatalf("accepted bad parameters %+v", q)
			}
			q.Levels()
			q.HashDeviceSize()
		}
	})
}

// TestHugeDataBlocks: a superblock whose block count times block size
// wraps around 2^64 to a real image's size is refused, and Covers does
// not take the wrapped product for the image's size.
func TestHugeDataBlocks(t *testing.T) {
	p, err := Default(5*4096, []byte("salt"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Covers(5*4096) || p.Covers(4*4096) || p.Covers(5*4096+1) {
		t.Error("Covers is wrong for a 5-block image")
	}
	p.DataBlocks = 1<<52 + 5 // × 4096 = 2^64 + 5 × 4096
	if p.Covers(5 * 4096) {
		t.Error("Covers took the wrapped product for the image's size")
	}
	if _, err := ParseSuperblock(p.Superblock()); err == nil || !strings.Contains(err.Error(), "more than a file can hold") {
		t.Errorf("ParseSuperblock of %d blocks: %v, want refused", p.DataBlocks, err)
	}
}
