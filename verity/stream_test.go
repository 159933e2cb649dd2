package verity

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// streamOf builds the tree of data and returns the tree's bytes and root.
func streamOf(t *testing.T, data []byte, p Params) ([]byte, []byte) {
	t.Helper()
	root, file := build(t, data, p)
	tree, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return tree, root
}

// TestStream: an image fed in odd-sized pieces comes out whole and equal;
// a flipped byte stops the stream at its block, with nothing of that block
// or after it passed on; a flipped byte in the tree or a wrong root is
// found before the first data byte.
func TestStream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		blocks int
		p      Params
	}{
		{"one block", 1, Params{Algorithm: "sha256", DataBlockSize: 4096, HashBlockSize: 4096}},
		{"two levels", 300, Params{Algorithm: "sha256", DataBlockSize: 512, HashBlockSize: 512, Salt: []byte("salt")}},
		{"sha512", 40, Params{Algorithm: "sha512", DataBlockSize: 1024, HashBlockSize: 1024}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.DataBlocks = uint64(tc.blocks)
			data := sample(tc.blocks, int(p.DataBlockSize))
			tree, root := streamOf(t, data, p)
			var out bytes.Buffer
			s, err := NewStream(tree, root, &out)
			if err != nil {
				t.Fatal(err)
			}
			for rest := data; len(rest) > 0; {
				n := min(len(rest), 777)
				if _, err := s.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			if err := s.Done(); err != nil || !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("Done = %v, out equal: %v", err, bytes.Equal(out.Bytes(), data))
			}
			bad := bytes.Clone(data)
			blk := tc.blocks / 2
			bad[blk*int(p.DataBlockSize)+7] ^= 0x10
			out.Reset()
			s, _ = NewStream(tree, root, &out)
			_, err = s.Write(bad)
			var me *MismatchError
			if !errors.As(err, &me) || me.Level != 0 || me.Block != uint64(blk) {
				t.Fatalf("flipped byte in block %d: %v", blk, err)
			}
			if out.Len() != blk*int(p.DataBlockSize) {
				t.Errorf("%d bytes passed on, want the %d before the bad block", out.Len(), blk*int(p.DataBlockSize))
			}
			wrong := bytes.Clone(root)
			wrong[0] ^= 1
			if ws, err := NewStream(tree, wrong, &out); tc.blocks == 1 {
				// The root is the one block's digest: the data fails.
				if _, err := ws.Write(data); !errors.As(err, &me) || me.Block != 0 {
					t.Errorf("wrong root, one block: %v", err)
				}
			} else if !errors.As(err, &me) || me.Level != -1 {
				t.Errorf("wrong root: %v", err)
			}
			if _, err := NewStream(tree[:len(tree)-1], root, &out); err == nil && tc.blocks > 1 {
				t.Error("a truncated tree was taken")
			}
			s, _ = NewStream(tree, root, &out)
			if _, err := s.Write(data[:len(data)-1]); err != nil || s.Done() == nil {
				t.Errorf("a short image: Write %v, Done %v", err, s.Done())
			}
		})
	}
}

// TestStreamTreeLevel: a flipped byte in the lowest level of a two-level
// tree is found by NewStream, which names level 1 (the digest that differs).
func TestStreamTreeLevel(t *testing.T) {
	p := Params{Algorithm: "sha256", DataBlockSize: 512, HashBlockSize: 512, DataBlocks: 300}
	tree, root := streamOf(t, sample(300, 512), p)
	start, _ := p.Levels()
	at := int(p.HashStart()+start[0])*512 + 5*512 + 3 // level 0, its sixth hash block
	tree[at] ^= 1
	_, err := NewStream(tree, root, &bytes.Buffer{})
	var me *MismatchError
	if !errors.As(err, &me) || me.Level != 1 || me.Block != 5*16 {
		t.Fatalf("NewStream = %v, want level 1 at data block 80", err)
	}
}
