package main

import (
	"fmt"
	"path/filepath"

	"github.com/sandbox-init/sandbox-init/config"
)

// cdMedium is the Live CD, the default medium: the disc sandbox.cd names,
// mounted read-only on cdDir, the root image on it (or its copy in RAM,
// sandbox.toram) loop-attached, and the disc let go of after a copy, free
// to eject. sandbox.iso's ISO file on a disk is the same medium mounted
// another way (isomedium_linux.go).
type cdMedium struct {
	mount step   // finds the medium and mounts it read-only on cdDir
	image string // the image file to attach: on the CD, or its copy in RAM
	dev   string // the origin attach made of it
}

func newCDMedium(*config.Config) medium { return &cdMedium{mount: step{"cd", mountCD}} }

func (m *cdMedium) find() []step {
	return []step{
		m.mount,                // the CD (or the ISO file) mounted read-only on /cd
		{"toram", m.copyToRAM}, // sandbox.toram: the image copied into RAM
	}
}

func (m *cdMedium) attach() []step {
	return []step{{"image", func(s *sandbox) (err error) { // the root image file, loop-attached read-only
		m.dev, err = attachImage(s, m.image, fmt.Sprintf("CD %s mounted read-only; ", s.state.CD))
		return err
	}}}
}

func (m *cdMedium) release() []step {
	return []step{{"eject", releaseMedium}} // after toram: the CD unmounted, free to eject
}

func (m *cdMedium) origin() string { return m.dev }

// mountCD finds the CD and mounts it read-only on cdDir (the how-to's
// Live CD).
func mountCD(s *sandbox) error {
	cd, err := findCD(s)
	if err != nil {
		return err
	}
	s.state.CD = cd
	return nil
}

// copyToRAM is toram's step: the image to attach is the copy, if one was
// made, or the file on the CD.
func (m *cdMedium) copyToRAM(s *sandbox) error {
	m.image = filepath.Join(cdDir, s.cfg.Image)
	ram, err := toRAM(s)
	if ram != "" {
		m.image = ram
	}
	return err
}
