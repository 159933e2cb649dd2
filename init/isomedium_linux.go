package main

// newISOMedium is sandbox.iso's medium: the ISO file on a disk, found and
// loop-mounted read-only on cdDir in the CD search's place
// (mountISOFile); from there on it is the CD (toram, the image, eject).
func newISOMedium(s *sandbox) medium {
	return &cdMedium{s: s, mount: step{"iso", s.mountISOFile}}
}
