package verity

import (
	"bytes"
	"fmt"
	"io"
)

// Stream checks an image while it arrives, in order, against a hash tree
// that NewStream checked whole against the root hash first: a network boot
// then stops at the first bad block, before anything is built on it,
// instead of downloading everything and hashing it again.
type Stream struct {
	p     Params
	leaf  []byte // the lowest level's hash blocks, in order
	root  []byte // the root hash: the only digest when the image is one block
	buf   []byte // the block being filled
	fill  int
	block uint64    // the data block being filled
	out   io.Writer // gets each block once it matched
}

// NewStream reads tree (the hash device: superblock and tree, as
// veritysetup writes it) and checks every hash block against the level
// above it and the top against root. A tree that fails names the level
// and the first data block under the bad hash block (MismatchError). Each
// block that matches goes to out, whole: out never sees a byte unchecked.
func NewStream(tree, root []byte, out io.Writer) (*Stream, error) {
	p, err := ParseSuperblock(tree)
	if err != nil {
		return nil, err
	}
	if int64(len(tree)) < p.HashDeviceSize() {
		return nil, fmt.Errorf("the hash tree is truncated: %d bytes of %d", len(tree), p.HashDeviceSize())
	}
	if len(root) != p.digestSize() {
		return nil, fmt.Errorf("the root hash has %d bytes, %s digests %d", len(root), p.Algorithm, p.digestSize())
	}
	s := &Stream{p: p, root: root, buf: make([]byte, p.DataBlockSize), out: out}
	start, count := p.Levels()
	if len(start) == 0 {
		return s, nil
	}
	hbs := int64(p.HashBlockSize)
	base := int64(p.HashStart()) * hbs
	level := func(l int) []byte {
		off := base + int64(start[l])*hbs
		return tree[off : off+int64(count[l])*hbs]
	}
	top := len(start) - 1
	if !bytes.Equal(p.digest(level(top)[:hbs]), root) {
		return nil, &MismatchError{Level: -1}
	}
	b, slot := p.perBlockBits(), p.digestSlot()
	for l := top - 1; l >= 0; l-- {
		above, this := level(l+1), level(l)
		for i := uint64(0); i < count[l]; i++ {
			at := int64(i>>b)*hbs + int64(i&(1<<b-1))*int64(slot)
			want := above[at : at+int64(p.digestSize())]
			if !bytes.Equal(p.digest(this[int64(i)*hbs:int64(i+1)*hbs]), want) {
				return nil, &MismatchError{Level: l + 1, Block: i << (b * uint(l+1))}
			}
		}
	}
	s.leaf = level(0)
	return s, nil
}

// Params are the tree's parameters.
func (s *Stream) Params() Params { return s.p }

// Size is the image's size in bytes, as the tree covers it.
func (s *Stream) Size() int64 { return int64(s.p.DataBlocks) * int64(s.p.DataBlockSize) }

// Write takes the image's next bytes. A block that does not match its
// digest fails with a *MismatchError at level 0 naming it, and nothing of
// it or after it reaches out.
func (s *Stream) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if s.block >= s.p.DataBlocks {
			return n, fmt.Errorf("more than the %d bytes the hash tree covers", s.Size())
		}
		c := copy(s.buf[s.fill:], b)
		s.fill += c
		b = b[c:]
		n += c
		if s.fill < len(s.buf) {
			break
		}
		if !bytes.Equal(s.p.digest(s.buf), s.want(s.block)) {
			return n - c, &MismatchError{Block: s.block, Level: 0}
		}
		if _, err := s.out.Write(s.buf); err != nil {
			return n - c, err
		}
		s.fill = 0
		s.block++
	}
	return n, nil
}

// Verified is the number of bytes from the start that are checked.
func (s *Stream) Verified() int64 { return int64(s.block) * int64(s.p.DataBlockSize) }

// Done says whether the whole image arrived and matched.
func (s *Stream) Done() error {
	if s.block != s.p.DataBlocks || s.fill != 0 {
		return fmt.Errorf("the image ended after %d of the %d bytes its hash tree covers", s.Verified()+int64(s.fill), s.Size())
	}
	return nil
}

// want is data block n's digest in the tree.
func (s *Stream) want(n uint64) []byte {
	if s.leaf == nil {
		return s.root
	}
	slot := uint64(s.p.digestSlot())
	at := n * slot
	return s.leaf[at : at+uint64(s.p.digestSize())]
}
