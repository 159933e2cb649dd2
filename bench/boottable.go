package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// bootTables are bench boot's tables: ours on the plain CD and on the
// Live CD against the recipe, then our phases on each; docs/bench.md#boot
// says how to read them.
func bootTables(img *images, n int, ours, live, recipe *variant) []table {
	t := table{
		title: fmt.Sprintf("Boot: sandbox-init vs the how-to's shell recipe (%d boots each, alternating; median (min–max))", n),
		head:  []string{"metric", "ours, plain CD", "ours, Live CD", "recipe, plain CD", "plain/recipe", "Live CD/recipe"},
	}
	row := func(label, metric, format string) {
		a, l, b := ours.samples[metric], live.samples[metric], recipe.samples[metric]
		if len(a) == 0 && len(l) == 0 && len(b) == 0 {
			return
		}
		t.rows = append(t.rows, []string{label, cell(a, format), cell(l, format), cell(b, format), ratio(a, b), ratio(l, b)})
	}
	row("init cost: Run /init → real init (s)", "cost", "%.3f")
	row("kernel start → real init (s)", "kernel", "%.3f")
	row("  kernel start → Run /init (s)", "runinit", "%.3f")
	row("  landmark: Run /init → [sr0] registered (s)", "cd", "%.3f")
	row("  landmark: Run /init → root mounted (dm-0, Live CD dm-1) (s)", "root", "%.3f")
	row("  landmark: root mounted → real init (s)", "tail", "%.3f")
	size := func(label string, a, b int64) {
		t.rows = append(t.rows, []string{label, fmt.Sprintf("%d (%s)", a, config.HumanBytes(uint64(a))), "(the same)", fmt.Sprintf("%d (%s)", b, config.HumanBytes(uint64(b))),
			fmt.Sprintf("%.2f", float64(a)/float64(b)), ""})
	}
	size("initramfs, compressed (bytes): ours zstd, recipe gzip -9", img.ours.gz, img.recipe.gz)
	size("initramfs, unpacked files (bytes)", img.ours.unpacked, img.recipe.unpacked)
	row("RAM in use at real init: MemTotal−MemFree (MiB)", "used", "%.1f")
	row("Shmem at real init (MiB)", "shmem", "%.1f")
	if len(t.rows) > 0 && strings.HasPrefix(t.rows[len(t.rows)-1][0], "Shmem") {
		t.rows[len(t.rows)-1][4], t.rows[len(t.rows)-1][5] = "—", "—" // near 0 for the recipe: a ratio says nothing
	}
	row("QEMU peak RSS (VmHWM) at real init, host (MiB)", "hwm", "%.1f")
	t.notes = append(t.notes, "Live CD: mklive's default (the test root as a sparse ext4 image in a zstd squashfs container, dm-verity, found by its UUID), booted with the ISO's own sandbox.* words; the recipe boots the plain image (/initrd-ext2) of the same root.")
	if ours.modules != "" {
		t.notes = append(t.notes, fmt.Sprintf("Modules: our init's log says %q (plain CD), %q (Live CD); the recipe insmods %d, one after the other: %s.",
			ours.modules, live.modules, len(recipe.initrd.modules), strings.Join(recipe.initrd.modules, " ")))
	}
	return []table{t, phaseTable(n, ours, live)}
}

// phaseTable is our phases on the plain CD and the Live CD, side by side.
func phaseTable(n int, ours, live *variant) table {
	p := table{
		title: fmt.Sprintf("sandbox-init phases (/run/sandbox/state.json, %d boots; ms, median (min–max))", n),
		head:  []string{"phase", "plain CD", "share", "Live CD", "share"},
	}
	share := func(v *variant, xs []float64) string {
		cost, _ := summarize(v.samples["cost"])
		s, ok := summarize(xs)
		if !ok || cost.med == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0f%%", 100*s.med/(cost.med*1000))
	}
	var order []string
	for _, v := range []*variant{ours, live} {
		for _, name := range v.order {
			if !slices.Contains(order, name) {
				order = append(order, name)
			}
		}
	}
	add := func(label string, a, l []float64) {
		p.rows = append(p.rows, []string{label, cell(a, "%.1f"), share(ours, a), cell(l, "%.1f"), share(live, l)})
	}
	for _, name := range order {
		add(name, ours.phases[name], live.phases[name])
	}
	add("sum of phases", ours.samples["phasesum"], live.samples["phasesum"])
	add("outside the phases", ours.samples["outside"], live.samples["outside"])
	if len(ours.samples["switch"]) > 0 {
		add("  before and between the phases", ours.samples["before"], live.samples["before"])
		add("  switch_root → real init's first line", ours.samples["switch"], live.samples["switch"])
	}
	if s, ok := summarize(append(append([]float64{}, ours.samples["skew"]...), live.samples["skew"]...)); ok {
		p.notes = append(p.notes, fmt.Sprintf("Clocks: our init's console stamps (CLOCK_BOOTTIME) run %.1f ms (median; %.1f to %.1f) behind the kernel's printk stamps of the same line.", s.med, s.min, s.max))
	}
	return p
}
