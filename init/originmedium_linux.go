package main

import (
	"fmt"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/mountutil"
)

// originMedium is sandbox.origin's block device: itself the snapshot's
// origin (the how-to's /dev/sda1), with no image to attach and nothing to
// let go of.
type originMedium struct{ dev string }

func newOriginMedium(cfg *config.Config) medium { return originMedium{cfg.Origin} }

func (m originMedium) find() []step {
	return []step{{"origin", m.use}} // the block device, set read-only
}

func (originMedium) attach() []step   { return nil }
func (originMedium) release() []step  { return nil }
func (m originMedium) origin() string { return m.dev }

// use waits for the device and sets it read-only in the kernel.
func (m originMedium) use(s *sandbox) error {
	dev := m.dev
	if err := waitDrivers(s.driverWait(), s.cfg.Wait, func() (bool, error) { return isBlock(dev), nil }); err != nil {
		err, hint := s.whyMissing(fmt.Errorf("device did not appear within %v", s.cfg.Wait),
			"check the disk is attached and its driver is in the initramfs; wait longer with sandbox.wait=")
		return &bootError{Device: dev, Err: err, Hint: hint}
	}
	if err := mountutil.SetReadOnly(dev); err != nil {
		return &bootError{Device: dev, Err: err, Hint: "sandbox.origin= must name a block device"}
	}
	s.log.Printf("origin %s set read-only (BLKROSET)", dev)
	s.state.Origin = dev
	return nil
}
