package main

import (
	"slices"
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
)

// TestMedia checks that each configuration picks its kind of medium, and
// that the kind's steps are the phases its boots have always had (the VM
// tests and state.json's phases name them): a kind missing from media, or
// a step moved, fails here before it fails in a VM.
func TestMedia(t *testing.T) {
	for _, c := range []struct {
		line, kind string
		steps      []string
	}{
		{"", "cd", []string{"cd", "toram", "image", "eject"}},
		{"sandbox.cd=LABEL=X", "cd", []string{"cd", "toram", "image", "eject"}},
		{"sandbox.iso=LABEL=STICK:/live.iso", "iso", []string{"iso", "toram", "image", "eject"}},
		{"sandbox.origin=/dev/vda", "origin", []string{"origin"}},
		{"sandbox.url=http://10.0.2.2/LiveOS/squashfs.img", "net", []string{"net", "fetch", "image"}},
	} {
		cfg, err := config.Parse(c.line)
		if err != nil {
			t.Fatalf("%q: %v", c.line, err)
		}
		k := chooseMedium(&cfg)
		m := k.make(&cfg)
		var got []string
		for _, st := range append(append(m.find(), m.attach()...), m.release()...) {
			got = append(got, st.name)
		}
		if k.name != c.kind || !slices.Equal(got, c.steps) || got[0] != k.name {
			t.Errorf("%q: medium %s with steps %v, want %s with %v", c.line, k.name, got, c.kind, c.steps)
		}
	}
}
