// Package verity reads and writes dm-verity's hash device as veritysetup
// formats it (hash format 1, with its superblock), so mklive can make the
// hash tree of a root image and sandbox-init can check the tree and the
// root hash before it asks the kernel's verity target to check every block.
// The reference is the kernel's
// Documentation/admin-guide/device-mapper/verity.rst and cryptsetup's
// lib/verity: a tree of hash blocks, the top level first, each hash block
// holding the digests of the blocks one level down (data blocks for the
// lowest level), each digest H(salt || block); the root hash is H(salt ||
// top block).
package verity

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/bits"
)

// SuperblockSize is the size of veritysetup's superblock; the hash tree
// starts at the next hash block.
const SuperblockSize = 512

var signature = [8]byte{'v', 'e', 'r', 'i', 't', 'y', 0, 0}

// Params are a hash tree's parameters, as its superblock holds them.
type Params struct {
	Algorithm     string // sha256 or sha512
	DataBlockSize uint32 // bytes
	HashBlockSize uint32 // bytes
	DataBlocks    uint64
	Salt          []byte
	UUID          [16]byte
}

// Default returns mklive's parameters for an image of size bytes:
// veritysetup's defaults (sha256, 4 KiB blocks) and the given salt.
func Default(size int64, salt []byte) (Params, error) {
	p := Params{Algorithm: "sha256", DataBlockSize: 4096, HashBlockSize: 4096, Salt: salt}
	if size <= 0 || size%int64(p.DataBlockSize) != 0 {
		return p, fmt.Errorf("image size %d is not a positive multiple of %d bytes", size, p.DataBlockSize)
	}
	p.DataBlocks = uint64(size) / uint64(p.DataBlockSize)
	return p, p.Check()
}

// Check refuses parameters the kernel would refuse, or that would make a
// tree this package cannot lay out.
func (p Params) Check() error {
	ok := func(n uint32) bool { return n >= 512 && n <= 1<<20 && n&(n-1) == 0 }
	switch {
	case p.newHash() == nil:
		return fmt.Errorf("hash algorithm %q: want sha256 or sha512", p.Algorithm)
	case !ok(p.DataBlockSize) || !ok(p.HashBlockSize):
		return fmt.Errorf("block sizes %d/%d: want powers of two from 512 to 1 MiB", p.DataBlockSize, p.HashBlockSize)
	case p.DataBlocks == 0:
		return errors.New("no data blocks")
	case p.DataBlocks > math.MaxInt64/uint64(max(p.DataBlockSize, p.HashBlockSize)):
		// Every size computed from the blocks (the image's bytes, the
		// tree's, the table's sectors) then fits an int64: a superblock
		// whose product wraps around could match a real image's size.
		return fmt.Errorf("%d data blocks of %d bytes: more than a file can hold", p.DataBlocks, p.DataBlockSize)
	case len(p.Salt) > 256:
		return fmt.Errorf("salt of %d bytes: at most 256", len(p.Salt))
	case p.HashBlockSize < uint32(p.digestSize()):
		return errors.New("hash block smaller than a digest")
	}
	return nil
}

func (p Params) newHash() hash.Hash {
	switch p.Algorithm {
	case "sha256":
		return sha256.New()
	case "sha512":
		return sha512.New()
	}
	return nil
}

func (p Params) digestSize() int { return p.newHash().Size() }

// perBlockBits is log2 of the digests a hash block holds: each digest
// takes a power of two bytes (hash format 1).
func (p Params) perBlockBits() uint {
	pad := 1 << bits.Len(uint(p.digestSize()-1))
	return uint(bits.TrailingZeros32(p.HashBlockSize / uint32(pad)))
}

// digestSlot is the bytes a digest takes in a hash block.
func (p Params) digestSlot() int { return int(p.HashBlockSize) >> p.perBlockBits() }

// Levels returns each level's first hash block (counted from the start of
// the hash tree, just after the superblock) and its number of blocks,
// level 0 the lowest, as the kernel's verity_ctr lays them out: the top
// level first on the device.
func (p Params) Levels() (start, count []uint64) {
	b := p.perBlockBits()
	levels := 0
	for b*uint(levels) < 64 && (p.DataBlocks-1)>>(b*uint(levels)) != 0 {
		levels++
	}
	start, count = make([]uint64, levels), make([]uint64, levels)
	pos := uint64(0)
	for i := levels - 1; i >= 0; i-- {
		shift := b * uint(i+1)
		var n uint64
		if shift >= 64 {
			n = 1
		} else {
			n = (p.DataBlocks + (1 << shift) - 1) >> shift
		}
		start[i], count[i] = pos, n
		pos += n
	}
	return start, count
}

// Covers tells whether the tree covers exactly an image of size bytes:
// DataBlocks whole blocks, compared without a product that could wrap.
func (p Params) Covers(size int64) bool {
	bs := int64(p.DataBlockSize)
	return bs > 0 && size >= 0 && size%bs == 0 && uint64(size/bs) == p.DataBlocks
}

// HashStart is the hash tree's first block on the hash device, in hash
// blocks: after the superblock (the verity table's hash_start_block).
func (p Params) HashStart() uint64 {
	return (SuperblockSize + uint64(p.HashBlockSize) - 1) / uint64(p.HashBlockSize)
}

// HashDeviceSize is the size of the hash device: superblock and tree.
func (p Params) HashDeviceSize() int64 {
	start, count := p.Levels()
	n := p.HashStart()
	if len(start) > 0 {
		n += start[0] + count[0]
	}
	return int64(n) * int64(p.HashBlockSize)
}

// digest is H(salt || block), hash format 1.
func (p Params) digest(block []byte) []byte {
	h := p.newHash()
	h.Write(p.Salt)
	h.Write(block)
	return h.Sum(nil)
}

// Superblock encodes the superblock (little-endian, 512 bytes).
func (p Params) Superblock() []byte {
	b := make([]byte, SuperblockSize)
	copy(b, signature[:])
	le := binary.LittleEndian
	le.PutUint32(b[8:], 1)  // superblock version
	le.PutUint32(b[12:], 1) // hash type: 1, the normal one (0 is Chrome OS's)
	copy(b[16:32], p.UUID[:])
	copy(b[32:64], p.Algorithm)
	le.PutUint32(b[64:], p.DataBlockSize)
	le.PutUint32(b[68:], p.HashBlockSize)
	le.PutUint64(b[72:], p.DataBlocks)
	le.PutUint16(b[80:], uint16(len(p.Salt)))
	copy(b[88:344], p.Salt)
	return b
}

// ParseSuperblock decodes a superblock and checks its parameters.
func ParseSuperblock(b []byte) (Params, error) {
	var p Params
	if len(b) < SuperblockSize || !bytes.Equal(b[:8], signature[:]) {
		return p, errors.New("no verity superblock (signature \"verity\" missing)")
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[8:]); v != 1 {
		return p, fmt.Errorf("verity superblock version %d: want 1", v)
	}
	if t := le.Uint32(b[12:]); t != 1 {
		return p, fmt.Errorf("verity hash type %d: want 1", t)
	}
	copy(p.UUID[:], b[16:32])
	p.Algorithm = string(bytes.TrimRight(b[32:64], "\x00"))
	p.DataBlockSize = le.Uint32(b[64:])
	p.HashBlockSize = le.Uint32(b[68:])
	p.DataBlocks = le.Uint64(b[72:])
	n := int(le.Uint16(b[80:]))
	if n > 256 {
		return p, fmt.Errorf("verity salt of %d bytes: at most 256", n)
	}
	p.Salt = append([]byte(nil), b[88:88+n]...)
	return p, p.Check()
}

// Build writes the hash device of data (p.DataBlocks blocks) to hash:
// superblock and tree. It returns the root hash. Each level is read back
// from hash to make the level above (the tree of a 4 GiB image is 32 MiB).
func Build(data io.ReaderAt, hash interface {
	io.ReaderAt
	io.WriterAt
}, p Params) ([]byte, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if _, err := hash.WriteAt(pad(p.Superblock(), int(p.HashStart())*int(p.HashBlockSize)), 0); err != nil {
		return nil, err
	}
	start, count := p.Levels()
	base := int64(p.HashStart()) * int64(p.HashBlockSize)
	hbs := int64(p.HashBlockSize)
	// Level 0 hashes the data.
	below := func(i uint64, buf []byte) error {
		_, err := data.ReadAt(buf, int64(i)*int64(p.DataBlockSize))
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	n, bs := p.DataBlocks, int(p.DataBlockSize)
	if len(start) == 0 { // one data block: the root hashes it directly
		buf := make([]byte, bs)
		if err := below(0, buf); err != nil {
			return nil, err
		}
		return p.digest(buf), nil
	}
	for lvl := range start {
		off := base + int64(start[lvl])*hbs
		if err := p.hashLevel(n, bs, below, hash, off); err != nil {
			return nil, err
		}
		below = func(i uint64, buf []byte) error {
			_, err := hash.ReadAt(buf, off+int64(i)*hbs)
			return err
		}
		n, bs = count[lvl], int(hbs)
	}
	top := make([]byte, hbs)
	if err := below(0, top); err != nil {
		return nil, err
	}
	return p.digest(top), nil
}

// hashLevel hashes n blocks of size bs read by below into hash blocks
// written from off.
func (p Params) hashLevel(n uint64, bs int, below func(uint64, []byte) error, w io.WriterAt, off int64) error {
	slot := p.digestSlot()
	block := make([]byte, p.HashBlockSize)
	buf := make([]byte, bs)
	fill := 0
	for i := uint64(0); i < n; i++ {
		if err := below(i, buf); err != nil {
			return fmt.Errorf("block %d: %w", i, err)
		}
		copy(block[fill:], p.digest(buf))
		fill += slot
		if fill == len(block) || i == n-1 {
			clear(block[fill:])
			if _, err := w.WriteAt(block, off); err != nil {
				return err
			}
			off += int64(len(block))
			fill = 0
		}
	}
	return nil
}

func pad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	return append(b, make([]byte, n-len(b))...)
}

// ParseRoot decodes a root hash given in hex.
func ParseRoot(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) < 16 || len(b) > 64 {
		return nil, fmt.Errorf("root hash %q: want 32 to 128 hex digits", s)
	}
	return b, nil
}

// MismatchError says where a data block's path up the tree fails.
type MismatchError struct {
	Block uint64 // the data block checked
	Level int    // -1: the top block against the root hash; else the level whose digest differs
}

func (e *MismatchError) Error() string {
	if e.Level < 0 {
		return "the hash tree's top block does not hash to the root hash"
	}
	if e.Level == 0 {
		return fmt.Sprintf("data block %d does not match its digest in the hash tree", e.Block)
	}
	return fmt.Sprintf("the hash tree is inconsistent at level %d on the path of data block %d", e.Level, e.Block)
}

// CheckBlock checks data block n against the tree and the root hash, as
// the kernel does on a read: its digest, and each hash block's up to the
// root. hash is the hash device, superblock included.
func CheckBlock(data, hash io.ReaderAt, p Params, root []byte, n uint64) error {
	if n >= p.DataBlocks {
		return fmt.Errorf("block %d is past the image's %d blocks", n, p.DataBlocks)
	}
	buf := make([]byte, p.DataBlockSize)
	if _, err := data.ReadAt(buf, int64(n)*int64(p.DataBlockSize)); err != nil {
		return fmt.Errorf("read data block %d: %w", n, err)
	}
	start, _ := p.Levels()
	base := int64(p.HashStart()) * int64(p.HashBlockSize)
	hbs := int64(p.HashBlockSize)
	b := p.perBlockBits()
	slot := p.digestSlot()
	want := p.digest(buf)
	idx := n
	hblock := make([]byte, hbs)
	for lvl := range start {
		nr := idx >> b
		if _, err := hash.ReadAt(hblock, base+int64(start[lvl]+nr)*hbs); err != nil {
			return fmt.Errorf("read hash block at level %d: %w", lvl, err)
		}
		at := int(idx&(1<<b-1)) * slot
		if !bytes.Equal(hblock[at:at+len(want)], want) {
			return &MismatchError{Block: n, Level: lvl}
		}
		want, idx = p.digest(hblock), nr
	}
	if !bytes.Equal(want, root) {
		return &MismatchError{Block: n, Level: -1}
	}
	return nil
}
