package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// noteVerityOff warns when the image is booted unchecked although its hash
// tree (image.verity) is on the medium: the command line lost its
// sandbox.verity= (one edit at the boot loader's prompt), and nothing else
// would say that the image is read unchecked. state.json and sandbox-init
// status keep the reason (verity: OFF).
//
// It looks on the medium (mounted until the eject step), not beside the
// image attached: sandbox.toram's copy in RAM goes without the tree when
// nothing asks for verity.
func noteVerityOff(s *sandbox) {
	if s.cfg.Verity != "" {
		return
	}
	if _, err := os.Stat(filepath.Join(cdDir, s.cfg.Image) + ".verity"); err != nil {
		return // a medium without a hash tree: nothing to check against
	}
	s.state.VerityOff = fmt.Sprintf("the command line has no sandbox.verity=, though the medium has the image's hash tree %s.verity: the image is read unchecked", s.cfg.Image)
	s.log.Warnf("WARNING: the root image %s is NOT verified: %s; a damaged or altered medium goes unnoticed. "+
		"Boot the medium's own menu entry unchanged (its command line has sandbox.verity=ROOT HASH)", s.cfg.Image, s.state.VerityOff)
}

// notePersistentUnverified warns that dm-verity checks the base image
// only: with sandbox.persistent=P the changes of earlier boots come from
// the COW disk, which nothing verifies and anyone with the disk can alter
// offline. Refusing the pair would refuse mklive's persistent Live CDs
// (every Live CD has the root hash), whose verity still catches a damaged
// medium; so the boot goes on, and status says what is verified.
func notePersistentUnverified(s *sandbox) {
	if !s.cfg.Persistent || s.state.Verity == nil {
		return
	}
	s.state.Verity.Unverified = fmt.Sprintf("the persistent COW store %s (sandbox.persistent=P): the changes kept there are not verified", s.cfg.COW)
	s.log.Warnf("WARNING: dm-verity checks the base image only: %s, and anyone with the disk can alter them offline; "+
		"boot without sandbox.persistent=P for a fully verified system", s.state.Verity.Unverified)
}
