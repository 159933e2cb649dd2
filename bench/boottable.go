package main

import (
	"fmt"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// bootTables are bench boot's tables: ours against the recipe, then our
// phases; docs/bench.md#boot says how to read them.
func bootTables(img *images, n int, ours, recipe *variant) []table {
	t := table{
		title: fmt.Sprintf("Boot: sandbox-init vs the how-to's shell recipe (%d boots each, alternating; median (min–max))", n),
		head:  []string{"metric", "ours", "recipe", "ours/recipe"},
	}
	row := func(label, metric, format string) {
		a, b := ours.samples[metric], recipe.samples[metric]
		if len(a) == 0 && len(b) == 0 {
			return
		}
		t.rows = append(t.rows, []string{label, cell(a, format), cell(b, format), ratio(a, b)})
	}
	row("init cost: Run /init → real init (s)", "cost", "%.3f")
	row("kernel start → real init (s)", "kernel", "%.3f")
	row("  kernel start → Run /init (s)", "runinit", "%.3f")
	row("  landmark: Run /init → [sr0] registered (s)", "cd", "%.3f")
	row("  landmark: Run /init → dm-0 mounted (s)", "root", "%.3f")
	row("  landmark: dm-0 mounted → real init (s)", "tail", "%.3f")
	size := func(label string, a, b int64) {
		t.rows = append(t.rows, []string{label, fmt.Sprintf("%d (%s)", a, config.HumanBytes(uint64(a))), fmt.Sprintf("%d (%s)", b, config.HumanBytes(uint64(b))),
			fmt.Sprintf("%.2f", float64(a)/float64(b))})
	}
	size("initramfs, compressed (bytes): ours zstd, recipe gzip -9", img.ours.gz, img.recipe.gz)
	size("initramfs, unpacked files (bytes)", img.ours.unpacked, img.recipe.unpacked)
	row("RAM in use at real init: MemTotal−MemFree (MiB)", "used", "%.1f")
	row("Shmem at real init (MiB)", "shmem", "%.1f")
	if len(t.rows) > 0 && strings.HasPrefix(t.rows[len(t.rows)-1][0], "Shmem") {
		t.rows[len(t.rows)-1][3] = "—" // near 0 for the recipe: a ratio says nothing
	}
	row("QEMU peak RSS (VmHWM) at real init, host (MiB)", "hwm", "%.1f")
	if ours.modules != "" {
		t.notes = append(t.notes, fmt.Sprintf("Modules: our init's log says %q; the recipe insmods %d, one after the other: %s.",
			ours.modules, len(recipe.initrd.modules), strings.Join(recipe.initrd.modules, " ")))
	}
	p := table{
		title: fmt.Sprintf("sandbox-init phases (/run/sandbox/state.json, %d boots; ms, median (min–max))", n),
		head:  []string{"phase", "ms", "share of init cost"},
	}
	cost, _ := summarize(ours.samples["cost"])
	share := func(xs []float64) string {
		s, ok := summarize(xs)
		if !ok || cost.med == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0f%%", 100*s.med/(cost.med*1000))
	}
	for _, name := range ours.order {
		p.rows = append(p.rows, []string{name, cell(ours.phases[name], "%.1f"), share(ours.phases[name])})
	}
	p.rows = append(p.rows,
		[]string{"sum of phases", cell(ours.samples["phasesum"], "%.1f"), share(ours.samples["phasesum"])},
		[]string{"outside the phases", cell(ours.samples["outside"], "%.1f"), share(ours.samples["outside"])})
	if len(ours.samples["switch"]) > 0 {
		p.rows = append(p.rows,
			[]string{"  before and between the phases", cell(ours.samples["before"], "%.1f"), share(ours.samples["before"])},
			[]string{"  switch_root → real init's first line", cell(ours.samples["switch"], "%.1f"), share(ours.samples["switch"])})
	}
	if s, ok := summarize(ours.samples["skew"]); ok {
		p.notes = append(p.notes, fmt.Sprintf("Clocks: our init's console stamps (CLOCK_BOOTTIME) run %.1f ms (median; %.1f to %.1f) behind the kernel's printk stamps of the same line.", s.med, s.min, s.max))
	}
	return []table{t, p}
}
