package main

import "github.com/sandbox-init/sandbox-init/config"

// newISOMedium is sandbox.iso's medium: the ISO file on a disk, found and
// loop-mounted read-only on cdDir in the CD search's place
// (mountISOFile); from there on it is the CD (toram, the image, eject).
func newISOMedium(*config.Config) medium {
	return &cdMedium{mount: step{"iso", mountISOFile}}
}
