package main

import (
	"encoding/json"
	"os"
	"path/filepath"
)

func (s *sandbox) writeState() error {
	b, err := json.MarshalIndent(s.state, "", "  ")
	if err != nil {
		return &bootError{Device: statePath, Err: err}
	}
	if err := os.MkdirAll(filepath.Dir(statePath), 0o755); err != nil {
		return &bootError{Device: statePath, Err: err}
	}
	if err := os.WriteFile(statePath, append(b, '\n'), 0o644); err != nil {
		return &bootError{Device: statePath, Err: err}
	}
	return nil
}
