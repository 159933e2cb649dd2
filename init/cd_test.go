package main

import (
	"errors"
	"strings"
	"testing"
)

func TestCDNotFound(t *testing.T) {
	mountErr := errors.New("mount /dev/sr0 on /cd (iso9660, read-only): no medium found")
	for _, tc := range []struct {
		want     string
		present  bool
		seen     []string
		why      string
		hintPart string
	}{
		{"/dev/sr0", true, nil, "/dev/sr0 holds no ISO 9660 disc (mount /dev/sr0 on /cd (iso9660, read-only): no medium found)", "insert the Live CD"},
		{"/dev/sdz", false, nil, "/dev/sdz did not appear", "check the device name"},
		{"auto", false, nil, "no CD drive or disk appeared", "attach a CD drive"},
		{"LABEL=LIVE", false, []string{"/dev/sr0", "/dev/sda"}, `no disc labelled "LIVE" among /dev/sr0 /dev/sda`, "fix sandbox.cd=LABEL="},
		{"UUID=2026-11-26-02-55-00-00", false, []string{"/dev/sr0", "/dev/sda"}, "no disc with UUID 2026-11-26-02-55-00-00 among /dev/sr0 /dev/sda", "fix sandbox.cd=UUID="},
		{"auto", false, []string{"/dev/sr0"}, "no drive or disk among /dev/sr0 holds an ISO 9660 disc", "insert the Live CD"},
	} {
		why, hint := cdNotFound(tc.want, tc.present, tc.seen, mountErr)
		if why != tc.why || !strings.Contains(hint, tc.hintPart) {
			t.Errorf("cdNotFound(%q, %v, %v) = %q, %q; want %q, …%s…", tc.want, tc.present, tc.seen, why, hint, tc.why, tc.hintPart)
		}
	}
}

func TestUnwrapAll(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	got := unwrapAll(errors.Join(a, errors.Join(b, c)))
	if len(got) != 3 || got[0] != a || got[1] != b || got[2] != c {
		t.Errorf("unwrapAll = %v, want [a b c]", got)
	}
	if got := unwrapAll(a); len(got) != 1 || got[0] != a {
		t.Errorf("unwrapAll(a) = %v", got)
	}
}

// The step loop names a failure's phase after its step, keeps a phase a
// step set itself, records the steps that ran, and stops at a failure.
func TestRunNamesPhases(t *testing.T) {
	s := &sandbox{}
	ran := 0
	ok := func(*sandbox) error { ran++; return nil }
	err := s.run([]step{{"one", ok}, {"two", func(*sandbox) error { return &bootError{Device: "/dev/x", Err: errors.New("boom")} }}, {"three", ok}})
	var be *bootError
	if !errors.As(err, &be) || be.Phase != "two" || be.Device != "/dev/x" {
		t.Fatalf("run = %#v, want phase two on /dev/x", err)
	}
	if ran != 1 || len(s.state.Phases) != 1 || s.state.Phases[0].Name != "one" {
		t.Errorf("ran %d, phases %+v", ran, s.state.Phases)
	}
	err = s.run([]step{{"cd", func(*sandbox) error { return errors.New("plain") }}})
	if !errors.As(err, &be) || be.Phase != "cd" || be.Err.Error() != "plain" {
		t.Errorf("a plain error: %#v", err)
	}
	err = s.run([]step{{"cd", func(*sandbox) error { return &bootError{Phase: "modules", Err: errors.New("x")} }}})
	if !errors.As(err, &be) || be.Phase != "modules" {
		t.Errorf("a step's own phase was replaced: %#v", err)
	}
}
