package main

import (
	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/superblock"
)

// volume is what a file system's superblock says about it.
type volume = superblock.Volume

// matches tells whether the volume is the one sandbox.iso's device part
// names: LABEL=X, UUID=Y (either case), a /dev path (taken as it is) or
// none (every one). FAT and exFAT labels match in either case, as those
// file systems compare names.
func matches(v volume, want config.DevRef) bool {
	switch want.Kind {
	case config.RefLabel:
		return v.HasLabel(want.Value)
	case config.RefUUID:
		return v.HasUUID(want.Value)
	}
	return true
}
