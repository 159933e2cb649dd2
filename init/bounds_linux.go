package main

import (
	"os"

	"github.com/sandbox-init/sandbox-init/config"
)

// memInfo reads one field of /proc/meminfo, in bytes.
func memInfo(field string) (uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	return config.MemField(string(b), field)
}

// checkChunk weighs sandbox.chunk against the RAM available now, when the
// RAM COW store and the image copy (sandbox.toram) have their share.
func checkChunk(s *sandbox) error {
	avail, err := memInfo("MemAvailable")
	if err != nil {
		return err
	}
	return checkChunkMemory(s.cfg.Store, s.cfg.Chunk, avail)
}
