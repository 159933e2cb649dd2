package mklive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/sandbox-init/sandbox-init/verity"
)

// VerityTree writes the dm-verity hash tree of image to out, in
// veritysetup's format (superblock, sha256, 4 KiB blocks; `veritysetup
// verify IMAGE OUT ROOT` checks it), and returns the root hash in hex. The
// salt and the tree's UUID derive from seed (the build's ISO UUID): a
// new build gets a new salt, a rebuild with SOURCE_DATE_EPOCH the same
// bytes.
func VerityTree(image, out, seed string) (string, error) {
	f, err := os.Open(image)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	salt := sha256.Sum256([]byte("sandbox-init verity salt " + seed))
	p, err := verity.Default(st.Size(), salt[:])
	if err != nil {
		return "", fmt.Errorf("%s: %w (pad it to a multiple of 4 KiB, or build with -verity=false)", image, err)
	}
	id := sha256.Sum256([]byte("sandbox-init verity uuid " + seed))
	copy(p.UUID[:], id[:16])
	p.UUID[6] = p.UUID[6]&0x0f | 0x40 // a version 4 UUID, as veritysetup makes
	p.UUID[8] = p.UUID[8]&0x3f | 0x80
	h, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	root, err := verity.Build(f, h, p)
	if cerr := h.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return "", fmt.Errorf("hash tree of %s: %w", image, err)
	}
	return hex.EncodeToString(root), nil
}
