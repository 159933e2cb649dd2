package main

import (
	"fmt"

	"github.com/sandbox-init/sandbox-init/config"
)

// verityTable is bench verity's table: each medium without and with
// verity side by side (ms in pairs); docs/bench.md#verity says how to
// read it.
func verityTable(ms []*verityMedium, n int) table {
	t := table{
		title: fmt.Sprintf("dm-verity's cost: the same Live CD with and without verity (%d boots each, alternating; median (min–max))", n),
		head:  []string{"metric", "plain", "plain+verity", "verity/plain", "container", "container+verity", "verity/container"},
	}
	row := func(label string, get func(*verityMedium) []float64, format string) {
		r := []string{label}
		for i := 0; i < len(ms); i += 2 {
			a, b := get(ms[i]), get(ms[i+1])
			r = append(r, cell(a, format), cell(b, format), ratio(b, a))
		}
		t.rows = append(t.rows, r)
	}
	sample := func(metric string) func(*verityMedium) []float64 {
		return func(m *verityMedium) []float64 { return m.samples[metric] }
	}
	phase := func(name string) func(*verityMedium) []float64 {
		return func(m *verityMedium) []float64 { return m.phases[name] }
	}
	row("init cost: Run /init → real init (s)", sample("cost"), "%.3f")
	row("  phase image (ms): loop, verity, container", phase("image"), "%.1f")
	row("  phase mount (ms)", phase("mount"), "%.1f")
	row("  switch_root → real init's first line (ms)", sample("switch"), "%.1f")
	row(fmt.Sprintf("first read of a %d MiB file (MiB/s)", verityMiB), sample("readmib"), "%.1f")
	size := []string{"ISO size"}
	for i := 0; i < len(ms); i += 2 {
		size = append(size, config.HumanBytes(uint64(ms[i].isoBytes)), config.HumanBytes(uint64(ms[i+1].isoBytes)),
			fmt.Sprintf("%.3f", float64(ms[i+1].isoBytes)/float64(ms[i].isoBytes)))
	}
	t.rows = append(t.rows, size)
	return t
}
