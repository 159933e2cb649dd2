package main

import (
	"fmt"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// systemTables are -system's tables: the whole boot and the initramfs
// stage per medium, then sizes, RAM and build times, then the goals.
func systemTables(vs []*sysVariant, media []throttle, n int, sq squashRef, treeBytes, inodes uint64) []table {
	var names, labels []string
	for _, m := range media {
		names, labels = append(names, m.name), append(labels, m.label())
	}
	perMedium := func(title, metric, format string) table {
		return perMedium(vs, names, labels, title, metric, format)
	}
	up := perMedium(fmt.Sprintf("Whole system: kernel start → systemd's multi-user.target (s; %d boots each, alternating; median (min–max))", n), "up", "%.2f")
	up.notes = []string{fmt.Sprintf("The tree: scripts/setup.sh's Debian 12 root with the marker unit, %s, %d files; every boot -m %d.", config.HumanBytes(treeBytes), inodes, systemMemMiB)}
	var medNotes []string
	for _, m := range media {
		medNotes = append(medNotes, m.name+": "+m.what)
	}
	up.notes = append(up.notes, "Media (throttle.go): "+strings.Join(medNotes, "; ")+".")
	for _, v := range vs {
		if len(v.failed) > 0 {
			up.notes = append(up.notes, fmt.Sprintf("FAILED boots of %s (not in the figures): %s.", v.name, strings.Join(v.failed, "; ")))
		}
	}
	stage := perMedium(fmt.Sprintf("Initramfs stage: \"Run /init\" → the real init's first line (s; %d boots each; median (min–max))", n), "stage", "%.2f")
	var before []string
	for _, v := range vs {
		before = append(before, v.name+" "+cellAll([]*sysVariant{v}, "runinit"))
	}
	stage.notes = []string{"Before the stage, kernel start → \"Run /init\" (s, all media): " + strings.Join(before, ", ") + "."}
	mnt := perMedium(fmt.Sprintf("Within the stage: \"Run /init\" → the root mounted on device-mapper (s; %d boots each)", n), "mounted", "%.2f")
	user := perMedium(fmt.Sprintf("After the initramfs: the real init's first line → multi-user.target (s; %d boots each)", n), "userspace", "%.2f")
	return append([]table{up, stage, mnt, user}, systemSizes(vs, media, sq), systemGoals(vs, sq))
}

// perMedium is a table of a metric's median (range), a row per variant, a
// column per medium (or link) of names, headed by labels.
func perMedium(vs []*sysVariant, names, labels []string, title, metric, format string) table {
	t := table{title: title, head: append([]string{"variant"}, labels...)}
	for _, v := range vs {
		row := []string{v.name}
		for _, m := range names {
			row = append(row, cell(v.samples[m][metric], format))
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// systemSizes is the table of sizes, RAM and build times per variant.
func systemSizes(vs []*sysVariant, media []throttle, sq squashRef) table {
	sz := table{
		title: "Per variant: media, initramfs, RAM, build",
		head:  []string{"variant", "ISO booted (bytes)", "root on the ISO (bytes)", "initramfs (bytes, compressed)", "initramfs unpacked (bytes)", "RAM in use when up: MemTotal−MemAvailable (MiB)", "build time (s)"},
	}
	for _, v := range vs {
		var used []float64
		for _, m := range media {
			used = append(used, v.samples[m.name]["used"]...)
		}
		build := v.iso.took.Seconds() + v.buildS
		sz.rows = append(sz.rows, []string{v.name, human(v.iso.isoBytes), human(v.iso.rootBytes), human(v.initrd.gz), human(v.initrd.unpacked),
			cell(used, "%.0f"), fmt.Sprintf("%.1f", build)})
	}
	if sq.bytes > 0 {
		sz.notes = append(sz.notes, fmt.Sprintf("mksquashfs of the tree (zstd, -b 1M): %s, %.1f s.", human(sq.bytes), sq.took))
	}
	return sz
}

// systemGoals is the table of issue #15's goals, met or not.
func systemGoals(vs []*sysVariant, sq squashRef) table {
	goals := table{title: "Goals (issue #15)", head: []string{"goal", "measured", "met"}}
	if r, ok := systemRatio(vs, "ours", "dracut", "dvd", "up"); ok {
		goals.rows = append(goals.rows, []string{"whole system from the emulated DVD ≤ 0.5 × dracut's time", fmt.Sprintf("ours/dracut = %.2f", r), yesNo(r <= 0.5)})
	}
	if r, ok := systemRatio(vs, "ours", "dracut", "dvd", "stage"); ok {
		goals.rows = append(goals.rows, []string{"(for reading: initramfs stage on the DVD)", fmt.Sprintf("ours/dracut = %.2f", r), "—"})
	}
	if r, ok := isoRatio(vs, sq); ok {
		goals.rows = append(goals.rows, []string{"ISO ≤ 1.05 × mksquashfs of the same tree", fmt.Sprintf("ISO/mksquashfs = %.3f", r), yesNo(r <= 1.05)})
	}
	for _, v := range vs {
		if v.name == "ours" && sq.bytes > 0 && v.iso.rootBytes > 0 {
			goals.rows = append(goals.rows, []string{"(for reading: the ISO's LiveOS/squashfs.img alone)", fmt.Sprintf("squashfs.img/mksquashfs = %.3f; the rest of the ISO: %s (kernel, initramfs, boot loaders, ISO 9660)",
				float64(v.iso.rootBytes)/float64(sq.bytes), human(v.iso.isoBytes-v.iso.rootBytes)), "—"})
		}
	}
	return goals
}

// human is a size in bytes and in words, "—" for none.
func human(x int64) string {
	if x == 0 {
		return "—"
	}
	return fmt.Sprintf("%d (%s)", x, config.HumanBytes(uint64(x)))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// cellAll is the median (range) of a metric over all variants and media.
func cellAll(vs []*sysVariant, metric string) string {
	var xs []float64
	for _, v := range vs {
		for _, s := range v.samples {
			xs = append(xs, s[metric]...)
		}
	}
	return cell(xs, "%.2f")
}

// systemRatio is the ratio of two variants' medians of a metric on a
// medium.
func systemRatio(vs []*sysVariant, a, b, medium, metric string) (float64, bool) {
	var xa, xb []float64
	for _, v := range vs {
		switch v.name {
		case a:
			xa = v.samples[medium][metric]
		case b:
			xb = v.samples[medium][metric]
		}
	}
	sa, ok1 := summarize(xa)
	sb, ok2 := summarize(xb)
	if !ok1 || !ok2 || sb.med == 0 {
		return 0, false
	}
	return sa.med / sb.med, true
}

// isoRatio is ours's ISO (the LiveOS layout, zstd) over the mksquashfs of
// the tree.
func isoRatio(vs []*sysVariant, sq squashRef) (float64, bool) {
	for _, v := range vs {
		if v.name == "ours" && sq.bytes > 0 && v.iso.isoBytes > 0 {
			return float64(v.iso.isoBytes) / float64(sq.bytes), true
		}
	}
	return 0, false
}

// systemRatios are the lines for scripts: "ratio NAME A/B=X".
func systemRatios(vs []*sysVariant, media []throttle, sq squashRef) []string {
	var out []string
	line := func(name, a, b, medium, metric string) {
		if r, ok := systemRatio(vs, a, b, medium, metric); ok {
			out = append(out, fmt.Sprintf("ratio %s %s/%s=%.2f", name, a, b, r))
		}
	}
	for _, m := range media {
		suffix := ""
		if m.name != "dvd" {
			suffix = "-" + m.name
		}
		line("system-boot"+suffix, "ours", "dracut", m.name, "up")
		line("initramfs-stage"+suffix, "ours", "dracut", m.name, "stage")
		line("system-boot"+suffix, "ours", "recipe", m.name, "up")
		line("initramfs-stage"+suffix, "ours", "recipe", m.name, "stage")
	}
	if r, ok := isoRatio(vs, sq); ok {
		out = append(out, fmt.Sprintf("ratio iso ours/mksquashfs=%.3f", r))
	}
	return out
}
