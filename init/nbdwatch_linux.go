//go:build !nonet

package main

import (
	"encoding/json"
	"os"

	"github.com/sandbox-init/sandbox-init/init/internal/watch"
)

// noteNBD writes watch.NBDNote, and warns when nothing will reconnect.
func noteNBD(s *sandbox) {
	if s.cfg.Watch == 0 {
		s.log.Warnf("WARNING: nbd: sandbox.watch=0: no watcher, so nothing reconnects a lost connection to %s: the root's reads fail %v after it is lost", s.cfg.URL, netBudget(s))
		return
	}
	b, _ := json.Marshal(s.state.NBD)
	if err := os.WriteFile("/run/sandbox/"+watch.NBDNote, b, 0o644); err != nil {
		s.log.Warnf("WARNING: nbd: %v: the watcher cannot reconnect a lost connection", err)
	}
}
