package main

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSubcommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		name string
		rest []string
	}{
		{nil, "boot", nil},
		{[]string{"io", "-n", "3"}, "io", []string{"-n", "3"}},
		// The flags of before: the mode anywhere, none for the boot.
		{[]string{"-n", "5", "-svg", "x.svg"}, "boot", []string{"-n", "5", "-svg", "x.svg"}},
		{[]string{"-io", "-n", "3", "-chunks", "32"}, "io", []string{"-n", "3", "-chunks", "32"}},
		{[]string{"-n", "1", "-work", "-stores", "PO"}, "work", []string{"-n", "1", "-stores", "PO"}},
		{[]string{"-media", "-debian"}, "media", []string{"-debian"}},
		{[]string{"--system", "-quick"}, "system", []string{"-quick"}},
		{[]string{"-verity", "-md"}, "verity", []string{"-md"}},
		{[]string{"-all", "-quick"}, "all", []string{"-quick"}},
	} {
		name, rest := subcommand(c.args)
		if name != c.name || !slices.Equal(rest, c.rest) {
			t.Errorf("subcommand(%q) = %q, %q; want %q, %q", c.args, name, rest, c.name, c.rest)
		}
	}
}

// parseQuiet is parse with the usage sent nowhere.
func parseQuiet(t *testing.T, name string, args ...string) (experiment, error) {
	t.Helper()
	e, err := parse(name, args, io.Discard)
	if err != nil && !errors.As(err, new(usageError)) {
		t.Fatalf("parse(%q, %q): %v is not a usage error", name, args, err)
	}
	return e, err
}

func TestParseDefaults(t *testing.T) {
	e, err := parseQuiet(t, "work")
	if err != nil {
		t.Fatal(err)
	}
	w := e.(*workOpts)
	// work's own defaults, which the flag globals once set by hand.
	if w.chunks != "8,32" || w.stores != "PO,N" || w.timeout != 15*time.Minute || w.n != 5 || w.mib != 64 || w.tree != "/usr/share" {
		t.Errorf("work's defaults: %+v", *w)
	}
	if p := w.plan(); p.rootMiB != 128 || p.recipe || p.memMiB != workMemMiB {
		t.Errorf("work's plan: %+v", p)
	}
	e, err = parseQuiet(t, "io", "-n", "3", "-mib", "32", "-chunks", "8,16")
	if err != nil {
		t.Fatal(err)
	}
	o := e.(*ioOpts)
	if o.chunks != "8,16" || o.stores != "PO" || o.timeout != 90*time.Second || o.n != 3 {
		t.Errorf("io: %+v", *o)
	}
	if p := o.plan(); p.rootMiB != 96 || !p.recipe {
		t.Errorf("io's plan: %+v, want 32+64 MiB of root and the recipe", p)
	}
	e, err = parseQuiet(t, "boot", "-svg", "docs/x.svg")
	if err != nil || e.(*bootOpts).svg != "docs/x.svg" || !e.plan().recipe || e.options().icount != -1 {
		t.Errorf("boot -svg: %v, %+v (want the host's clock, -icount -1)", err, e)
	}
	e, err = parseQuiet(t, "boot", "-icount", "1")
	if err != nil || e.options().icount != 1 {
		t.Errorf("boot -icount 1: %v, %+v", err, e)
	}
	e, err = parseQuiet(t, "start", "-icount", "1")
	if _, ok := e.(*startOpts); err != nil || !ok || e.options().n != 5 || e.options().icount != 1 || e.plan().recipe {
		t.Errorf("start -icount 1: %v, %+v (want 5 boots, no recipe)", err, e)
	}
}

// TestParseRefuses: what the old command line refused (a mode's flag with
// another mode, bad values) each experiment's flag set refuses.
func TestParseRefuses(t *testing.T) {
	for _, c := range [][]string{
		{"boot", "-debian"},        // -debian is media's
		{"io", "-quick"},           // -quick is system's
		{"io", "-media"},           // two modes
		{"media", "-svg", "x.svg"}, // -svg is boot's
		{"boot", "-n", "0"},
		{"boot", "-kernel", "nope"},
		{"boot", "-icount", "11"},
		{"io", "-chunks", "8,x"},
		{"work", "-stores", "PO,Q"},
		{"work", "-tree", "usr/share"},
		{"work", "-workfs", "xfs"},
		{"work", "-mib", "0"},
		{"system", "-sysmedia", "floppy"},
		{"verity", "extra"},
		{"nosuch"},
	} {
		if _, err := parseQuiet(t, c[0], c[1:]...); err == nil {
			t.Errorf("bench %s accepted", strings.Join(c, " "))
		}
	}
}

func TestAllRuns(t *testing.T) {
	got := allRuns([]string{"-quick", "-kernel", "deb12"})
	want := []allRun{
		{"boot", []string{"-n", "3", "-svg", "docs/boot-timeline.svg", "-md", "-kernel", "deb12"}},
		{"work", []string{"-n", "1", "-chunks", "8", "-stores", "PO", "-md", "-kernel", "deb12"}},
		{"system", []string{"-quick", "-md", "-kernel", "deb12"}},
		{"verity", []string{"-n", "2", "-md", "-kernel", "deb12"}},
	}
	if len(got) != len(want) {
		t.Fatalf("allRuns: %v", got)
	}
	for i := range want {
		if got[i].name != want[i].name || !slices.Equal(got[i].args, want[i].args) {
			t.Errorf("run %d: %v, want %v", i, got[i], want[i])
		}
		if _, err := parseQuiet(t, got[i].name, got[i].args...); err != nil {
			t.Errorf("run %d does not parse: %v", i, err)
		}
	}
	if full := allRuns(nil); !slices.Equal(full[1].args, []string{"-n", "3", "-md"}) {
		t.Errorf("all's work: %v", full[1].args)
	}
}
