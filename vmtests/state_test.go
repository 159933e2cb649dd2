package vmtests

import (
	"testing"

	"github.com/sandbox-init/sandbox-init/state"
)

// guestState decodes the guest's /run/sandbox/state.json, which the
// harness prints on one line ("GUEST state=").
func (c console) guestState(t *testing.T) state.State {
	t.Helper()
	js := c.mustGuest(t, "state")
	st, err := state.Parse([]byte(js))
	if err != nil {
		t.Errorf("state.json: %v: %s", err, js)
	}
	return st
}

// guestUsage decodes the guest's /run/sandbox/usage.json ("GUEST usage=").
func (c console) guestUsage(t *testing.T) state.Usage {
	t.Helper()
	return parseUsage(t, c.mustGuest(t, "usage"))
}

func parseUsage(t *testing.T, js string) state.Usage {
	t.Helper()
	u, err := state.ParseUsage([]byte(js))
	if err != nil {
		t.Errorf("usage.json: %v: %q", err, js)
	}
	return u
}
