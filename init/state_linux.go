package main

import (
	"os"
	"path/filepath"

	"github.com/sandbox-init/sandbox-init/state"
)

// writeState writes state.json (package state's public contract) for the
// booted system.
func writeState(s *sandbox) error {
	b := s.state.JSON() // package state's encoder: no encoding/json in the init
	if err := os.MkdirAll(filepath.Dir(state.Path), 0o755); err != nil {
		return &bootError{Device: state.Path, Err: err}
	}
	if err := os.WriteFile(state.Path, append(b, '\n'), 0o644); err != nil {
		return &bootError{Device: state.Path, Err: err}
	}
	return nil
}
