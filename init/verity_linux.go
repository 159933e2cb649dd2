package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sandbox-init/sandbox-init/dm"
	"github.com/sandbox-init/sandbox-init/init/internal/diag"
	"github.com/sandbox-init/sandbox-init/modpolicy"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"github.com/sandbox-init/sandbox-init/state"
	"github.com/sandbox-init/sandbox-init/verity"
	"golang.org/x/sys/unix"
)

// verifyImage puts dm-verity between the image file (attached read-only on
// loop) and everything above it (sandbox.verity): every block read from it
// is checked against the hash tree in FILE.verity, whose root hash the
// command line gives. Before the kernel takes over, the tree's parameters,
// its top block and the image's first block are checked here, so
// that a wrong command line, a missing or foreign hash tree and a damaged
// image each get their own message rather than an I/O error later. It
// returns the verified device.
func verifyImage(s *sandbox, file, rel string, loop *mountutil.Loop) (string, error) {
	return verifyDevice(s, loop.Path, file, file+".verity", rel, rel+".verity")
}

// verifyDevice is verifyImage over data, the device that holds file (a
// loop device over it, or file itself: an NBD device), with the hash tree
// in treeFile; rel and treeRel name them in messages.
func verifyDevice(s *sandbox, data, file, treeFile, rel, treeRel string) (string, error) {
	root, err := hex.DecodeString(s.cfg.Verity)
	if err != nil {
		return "", &bootError{Device: "sandbox.verity", Err: err}
	}
	p, err := readTree(treeFile)
	if err != nil {
		return "", &bootError{Device: treeRel, Err: err,
			Hint: "the Live CD lacks its hash tree or it is damaged: make the medium again from the ISO, or rebuild it with mklive (which writes IMAGE.verity); sandbox.verity=off boots it unchecked"}
	}
	size, err := fileSize(file)
	if err != nil {
		return "", &bootError{Device: rel, Err: err}
	}
	if !p.Covers(size) { // p.Check bounds the product: it does not wrap
		return "", &bootError{Device: treeRel, Err: fmt.Errorf("the hash tree covers %d bytes, but %s has %d: it is the tree of another image", p.DataBlocks*uint64(p.DataBlockSize), rel, size),
			Hint: "the image and its hash tree come from different builds: make the medium again from one ISO"}
	}
	if err := checkFirst(file, treeFile, p, root); err != nil {
		return "", verityMismatch(err, rel, treeRel, s.cfg.Verity)
	}
	if err := s.need("dm_verity"); err != nil {
		return "", err
	}
	if s.mods != nil && cpuHasSHA256Accel(s) {
		s.mods.l.Try(modpolicy.SHA256Accel) // started by the modules step: the fastest sha256 this CPU has
	}
	hash, err := mountutil.LoopAttach(treeFile)
	if err != nil {
		return "", &bootError{Device: treeRel, Err: err}
	}
	s.hold = append(s.hold, hash)
	t, err := dm.Verity(dm.VerityTable{Data: data, Hash: hash.Path, DataBlockSize: p.DataBlockSize, HashBlockSize: p.HashBlockSize,
		DataBlocks: p.DataBlocks, HashStartBlock: p.HashStart(), Algorithm: p.Algorithm, Root: root, Salt: p.Salt, OnCorrupt: s.cfg.OnCorrupt})
	if err != nil {
		return "", &bootError{Device: treeRel, Err: err}
	}
	c, err := dm.Open()
	if err != nil {
		return "", &bootError{Device: dm.ControlPath, Err: err, Hint: "the dm-mod and dm-verity modules must be in the initramfs"}
	}
	defer c.Close()
	dev, err := c.Create(diag.VerityName(s.cfg.Name), true, t)
	if err != nil {
		return "", &bootError{Device: diag.VerityName(s.cfg.Name), Err: fmt.Errorf("table %q: %w", t, err), Hint: "the kernel log (dmesg | grep verity) has the reason; the kernel needs CONFIG_DM_VERITY"}
	}
	if err := dm.MakeNode(dev); err != nil {
		return "", &bootError{Device: dev.Path(), Err: err}
	}
	s.state.Verity = &state.Verity{RootHash: s.cfg.Verity, HashTree: treeRel, Device: dev.Path(), DataBlocks: p.DataBlocks, BlockSize: p.DataBlockSize, OnCorrupt: s.cfg.OnCorrupt}
	s.log.Printf("verity: %s (%d blocks of %d bytes) checked against %s on every read, root hash %s…; a corrupted block: %s",
		rel, p.DataBlocks, p.DataBlockSize, treeRel, s.cfg.Verity[:16], onCorruptSays(s.cfg.OnCorrupt))
	return dev.Path(), nil
}

func onCorruptSays(action string) string {
	switch action {
	case "restart":
		return "the machine restarts"
	case "panic":
		return "the kernel panics"
	}
	return "its read fails"
}

// fileSize is a file's size, or a block device's.
func fileSize(file string) (int64, error) {
	st, err := os.Stat(file)
	if err != nil {
		return 0, err
	}
	if st.Mode()&os.ModeDevice == 0 {
		return st.Size(), nil
	}
	n, err := mountutil.Sectors(file)
	return int64(n * 512), err
}

// readTree reads a hash tree file's superblock.
func readTree(file string) (verity.Params, error) {
	f, err := os.Open(file)
	if err != nil {
		return verity.Params{}, fmt.Errorf("no hash tree: %w", err)
	}
	defer f.Close()
	b := make([]byte, verity.SuperblockSize)
	if _, err := io.ReadFull(f, b); err != nil {
		return verity.Params{}, fmt.Errorf("the hash tree is truncated: %w", err)
	}
	p, err := verity.ParseSuperblock(b)
	if err != nil {
		return p, fmt.Errorf("not a dm-verity hash tree: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Size() < p.HashDeviceSize() {
		return p, fmt.Errorf("the hash tree is truncated: %d bytes of %d", st.Size(), p.HashDeviceSize())
	}
	return p, nil
}

// cpuHasSHA256Accel tells whether the CPU can run modpolicy.SHA256Accel: on one
// without SSSE3 (an old PC, or QEMU's TCG) its load fails after costing
// tens of milliseconds.
func cpuHasSHA256Accel(s *sandbox) bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return true // let the kernel decide
	}
	return cpuHasFlag(string(b), "ssse3")
}

// cpuHasFlag reads /proc/cpuinfo's first "flags" line.
func cpuHasFlag(cpuinfo, flag string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			for _, f := range strings.Fields(v) {
				if f == flag {
					return true
				}
			}
			return false
		}
	}
	return true
}

// checkFirst checks the image's first block up to the root hash: the one
// every file system reads first, so the read costs nothing later, while
// the last block would cost a seek across a disc.
func checkFirst(file, treeFile string, p verity.Params, root []byte) error {
	data, err := os.Open(file)
	if err != nil {
		return err
	}
	defer data.Close()
	tree, err := os.Open(treeFile)
	if err != nil {
		return err
	}
	defer tree.Close()
	return verity.CheckBlock(data, tree, p, root, 0)
}

// verityMismatch names what does not match what.
func verityMismatch(err error, rel, treeRel, root string) error {
	var me *verity.MismatchError
	if !errors.As(err, &me) {
		return &bootError{Device: rel, Err: err, Hint: "the medium may be damaged (dmesg says why)"}
	}
	switch {
	case me.Level < 0:
		return &bootError{Device: treeRel, Err: fmt.Errorf("the root hash on the command line (sandbox.verity=%s…) is not the one of the hash tree %s: the command line and the Live CD come from different builds", root[:16], treeRel),
			Hint: "boot the CD's own menu entry unchanged, or rebuild the Live CD with mklive; an image whose hash does not match is never booted"}
	case me.Level == 0:
		return &bootError{Device: rel, Err: fmt.Errorf("%s does not match its hash tree at block %d: the image is corrupted (a damaged or altered medium) or the hash tree is another image's", rel, me.Block),
			Hint: "make the medium again from the ISO (and check the ISO's checksum)"}
	}
	return &bootError{Device: treeRel, Err: fmt.Errorf("the hash tree %s is corrupted (level %d on the path of block %d)", treeRel, me.Level, me.Block),
		Hint: "make the medium again from the ISO (and check the ISO's checksum)"}
}

// integrity adds to a failure what dm-verity found, when it found
// something: the cause of a mount's or a read's I/O error is then named.
func integrity(s *sandbox, err error) error {
	if s.state.Verity == nil {
		return err
	}
	c, cerr := dm.Open()
	if cerr != nil {
		return err
	}
	defer c.Close()
	ts, cerr := c.Status(diag.VerityName(s.cfg.Name))
	if cerr != nil || len(ts) != 1 {
		return err
	}
	if bad, _ := dm.ParseVerityStatus(ts[0].Params); !bad {
		return err
	}
	blocks := []string{"a block (the kernel log names it)"}
	if fd, ferr := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); ferr == nil {
		if b := diag.CorruptBlocks(diag.ReadKmsg(fd), map[string]bool{}); len(b) > 0 {
			blocks = b
		}
		unix.Close(fd)
	}
	ie := fmt.Errorf("INTEGRITY: %s failed dm-verity's check: %s of %s is corrupted", s.cfg.Image, strings.Join(blocks, ", "), s.state.CD)
	var be *bootError
	if errors.As(err, &be) {
		be.Err = errors.Join(be.Err, ie)
		be.Hint = "the medium is damaged or was altered: make it again from the ISO (and check the ISO's checksum)"
		return be
	}
	return errors.Join(err, ie)
}
