package main

import (
	"fmt"
	"io"
	"os"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/dm"
	"github.com/sandbox-init/sandbox-init/mountutil"
)

// growBase gives an ext2/3/4 root room to write (sandbox.grow): the
// snapshot's origin becomes a read-only device made of the image and zeros
// (linear and zero targets), and growRoot grows the file system into it
// once mounted. It returns the origin (origin itself when it does not
// grow) and the size, in blocks, to grow the file system to. Every write of the growth lands in the COW store; the image
// is never touched.
func growBase(s *sandbox, origin string) (string, uint64, error) {
	if s.cfg.Grow == "no" {
		return origin, 0, nil
	}
	b, err := readStart(origin, mountutil.FSProbeBytes)
	if err != nil {
		return "", 0, &bootError{Device: origin, Err: err}
	}
	bs, size, avail, ok := mountutil.ExtSpace(b)
	if !ok {
		s.log.Warnf("WARNING: sandbox.grow: %s holds no ext2/3/4 file system: it stays as it is", origin)
		return origin, 0, nil
	}
	target := growTarget(s.cfg.Grow, size, avail, s.state.COWBytes)
	if group, meta, ok := mountutil.ExtGroups(b); ok && target > 0 {
		var why string
		if target, why = capGrowTarget(target, size, group, meta, s.state.COWBytes); why != "" {
			s.log.Warnf("WARNING: sandbox.grow: %s", why)
		}
	}
	if target <= size {
		return origin, 0, nil
	}
	if err := s.need("dm_mod", "dm_zero"); err != nil {
		return "", 0, err
	}
	sectors, err := mountutil.Sectors(origin)
	if err != nil {
		return "", 0, &bootError{Device: origin, Err: err}
	}
	extra := target/512 - min(sectors, target/512)
	extra -= extra % (bs / 512)
	t, err := dm.Grown(origin, sectors, extra)
	if err != nil {
		return "", 0, &bootError{Device: origin, Err: err}
	}
	c, err := dm.Open()
	if err != nil {
		return "", 0, &bootError{Device: dm.ControlPath, Err: err, Hint: "the dm-mod module must be in the initramfs"}
	}
	defer c.Close()
	dev, err := c.Create(s.cfg.Name+"-base", true, t...)
	if err != nil {
		return "", 0, &bootError{Device: s.cfg.Name + "-base", Err: err, Hint: "set sandbox.grow=no to boot the image as it is"}
	}
	if err := dm.MakeNode(dev); err != nil {
		return "", 0, &bootError{Device: dev.Path(), Err: err}
	}
	s.state.GrownBase, s.state.Origin = dev.Path(), dev.Path()
	s.log.Printf("grow: %s (%s, %s free) on %s, %s long: room for the COW store's %s",
		origin, config.HumanBytes(size), config.HumanBytes(avail), dev.Path(), config.HumanBytes((sectors+extra)*512), config.HumanBytes(s.state.COWBytes))
	return dev.Path(), (sectors + extra) * 512 / bs, nil
}

// growRoot grows the mounted root's file system, on dev, to blocks (0:
// not at all) onto the whole grown base (growBase), online.
func growRoot(s *sandbox, dev string, blocks uint64) error {
	if blocks == 0 {
		return nil
	}
	if err := mountutil.GrowExt4(newRoot, blocks); err != nil {
		return &bootError{Device: dev, Err: err, Hint: "the file system could not grow (dmesg says why); set sandbox.grow=no to boot it as it is"}
	}
	return nil
}

// readStart reads the first n bytes of a device (fewer if it is smaller).
func readStart(dev string, n int) ([]byte, error) {
	f, err := os.Open(dev)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	got, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("read %s: %w", dev, err)
	}
	return b[:got], nil
}
