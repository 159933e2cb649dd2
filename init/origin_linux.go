package main

import (
	"fmt"
	"os"

	"github.com/sandbox-init/sandbox-init/mountutil"
)

// attachImage loop-attaches the root image file (on the CD, or its copy in
// RAM), read-only, and returns the snapshot's origin: the loop device, the
// verity device over it, or the image inside a container. said names the
// medium in its line.
func attachImage(s *sandbox, image, said string) (string, error) {
	if err := s.need("loop"); err != nil {
		return "", err
	}
	cd := s.state.CD
	st, err := os.Stat(image)
	if err != nil {
		return "", &bootError{Device: cd, Err: fmt.Errorf("no %s on the CD: %w", s.cfg.Image, err), Hint: fmt.Sprintf("the CD has: %s; set sandbox.image= to the root image's path", listDir(cdDir))}
	}
	if !st.Mode().IsRegular() {
		return "", &bootError{Device: cd, Err: fmt.Errorf("%s on the CD is not a regular file", s.cfg.Image), Hint: "set sandbox.image= to the root image file"}
	}
	container := isSquashfs(image)
	loop, err := mountutil.LoopAttach(image)
	if err != nil {
		return "", &bootError{Device: s.cfg.Image, Err: err, Hint: "loop needs the loop module; the image must be a file of at least 1 KiB"}
	}
	s.hold = append(s.hold, loop)
	dev := loop.Path
	noteVerityOff(s)
	if s.cfg.Verity != "" {
		if dev, err = verifyImage(s, image, s.cfg.Image, loop); err != nil {
			return "", err
		}
		notePersistentUnverified(s)
	}
	if container {
		return attachContainer(s, dev, loop.Path, said)
	}
	s.state.Loop = loop.Path
	s.state.Origin = dev
	s.log.Printf("%s%s attached read-only to %s", said, s.cfg.Image, loop.Path)
	return dev, nil
}
