package main

import (
	"fmt"
	"strings"
)

// tables are bench work's tables: the times and speeds, then what the
// writes cost; docs/bench.md#work says how to read them.
func (o *workOpts) tables(cs []*workConfig, ours *workConfig, loads map[string]workLoad) []table {
	tl, sl := loads["tree"], loads["small"]
	what := fmt.Sprintf("dd %d MiB; %d small files (%.1f MiB); cp -a %s (%d files, %d directories, %.1f MiB)",
		o.mib, sl.files, sl.mib(), o.tree, tl.files, tl.dirs, tl.mib())
	t := table{
		title: fmt.Sprintf("The sandbox at work: %s, each then sync, in the same boot (%d boots per config, alternating; s, median (min–max))", what, o.n),
		head: []string{"target, snapshot", "sequential write (s)", "small files (s)", "tree copy (s)", "tree copy MiB/s",
			"speed vs ext4 on brd: seq / small / tree", "speed vs overlayfs on tmpfs: seq / small / tree"},
	}
	speed := func(c *workConfig, o string) string {
		var v []string
		for _, w := range workLoads {
			v = append(v, cell(c.s[w+"/vs-"+o], "%.2f"))
		}
		return strings.Join(v, " / ")
	}
	mibps := func(xs []float64) []float64 {
		var out []float64
		for _, x := range xs {
			out = append(out, tl.mib()/x)
		}
		return out
	}
	for _, c := range cs {
		label := "sandbox, " + c.name
		if c == ours {
			label += " (default)"
		}
		t.rows = append(t.rows, []string{label, cell(c.s["sandbox/seq/s"], "%.2f"), cell(c.s["sandbox/small/s"], "%.2f"), cell(c.s["sandbox/tree/s"], "%.2f"),
			cell(mibps(c.s["sandbox/tree/s"]), "%.1f"), speed(c, "ext4"), speed(c, "ovl")})
		for _, o := range []string{"ext4", "ovl"} {
			t.rows = append(t.rows, []string{"  " + workTargetDoc[o] + " (same boots)", cell(c.s[o+"/seq/s"], "%.2f"), cell(c.s[o+"/small/s"], "%.2f"),
				cell(c.s[o+"/tree/s"], "%.2f"), cell(mibps(c.s[o+"/tree/s"]), "%.1f"), "", ""})
		}
	}
	t.notes = []string{fmt.Sprintf("The root image: %s (-workfs); the tree: a copy of the root's %s on a tmpfs of its own.", o.workfs, o.tree)}
	c := table{
		title: fmt.Sprintf("What the writes cost (%d boots per config; median (min–max))", o.n),
		head:  []string{"target, snapshot", "RAM KiB per MiB: seq", "small", "tree", "COW sectors per MiB: seq", "small", "tree"},
	}
	for _, cf := range cs {
		c.rows = append(c.rows, []string{"sandbox, " + cf.name, cell(cf.s["sandbox/seq/ram"], "%.0f"), cell(cf.s["sandbox/small/ram"], "%.0f"), cell(cf.s["sandbox/tree/ram"], "%.0f"),
			cell(cf.s["sandbox/seq/cow"], "%.0f"), cell(cf.s["sandbox/small/cow"], "%.0f"), cell(cf.s["sandbox/tree/cow"], "%.0f")})
	}
	for _, o := range []string{"ext4", "ovl"} {
		var pool = map[string][]float64{}
		for _, cf := range cs {
			for _, w := range workLoads {
				pool[w] = append(pool[w], cf.s[o+"/"+w+"/ram"]...)
			}
		}
		c.rows = append(c.rows, []string{workTargetDoc[o] + " (all boots)", cell(pool["seq"], "%.0f"), cell(pool["small"], "%.0f"), cell(pool["tree"], "%.0f"), "—", "—", "—"})
	}
	c.notes = []string{fmt.Sprintf("File data written: %d MiB; %.1f MiB; %.1f MiB.", o.mib, sl.mib(), tl.mib())}
	return []table{t, c}
}
