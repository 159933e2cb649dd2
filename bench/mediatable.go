package main

import (
	"fmt"

	"github.com/sandbox-init/sandbox-init/config"
)

// mediaTables is -media's boot and build table: plain, container and
// toram side by side, with each against plain.
func mediaTables(ms []*medium, n int) []table {
	plain := ms[0]
	t := table{
		title: fmt.Sprintf("Live media: plain ext2 image vs zstd container vs container + toram (busybox test root; %d builds and %d boots each, alternating; median (min–max))", n, n),
		head:  []string{"metric", "plain", "container", "toram", "container/plain", "toram/plain"},
	}
	// A ratio to a phase that takes next to nothing in plain (toram and
	// eject are no-ops there) says nothing: it is left out below 5 ms.
	row := func(label string, samples func(*medium) []float64, format string, minBase float64) {
		r := []string{label}
		for _, m := range ms {
			r = append(r, cell(samples(m), format))
		}
		base, _ := summarize(samples(plain))
		for _, m := range ms[1:] {
			if base.med < minBase {
				r = append(r, "—")
				continue
			}
			r = append(r, ratio(samples(m), samples(plain)))
		}
		t.rows = append(t.rows, r)
	}
	metric := func(label, name, format string) {
		row(label, func(m *medium) []float64 { return m.samples[name] }, format, 0)
	}
	metric("init cost: Run /init → real init (s)", "cost", "%.3f")
	metric("kernel start → real init (s)", "kernel", "%.3f")
	for _, p := range mediaPhases {
		row(fmt.Sprintf("  phase %s (ms)", p), func(m *medium) []float64 { return m.phases[p] }, "%.1f", 5)
	}
	metric("  the other phases (ms)", "otherphases", "%.1f")
	metric("  outside the phases (ms)", "outside", "%.1f")
	metric("/ size, df (MiB)", "rootsize", "%.1f")
	metric("/ free, df (MiB)", "rootfree", "%.1f")
	metric("RAM in use at real init: MemTotal−MemFree (MiB)", "used", "%.1f")
	metric("Shmem at real init (MiB)", "shmem", "%.1f")
	metric("QEMU peak RSS (VmHWM) at real init, host (MiB)", "hwm", "%.1f")
	t.rows = append(t.rows, mediaBuildRows(ms)...)
	// What differs from run to run; the rest is docs/bench.md#media's.
	cont := ms[1]
	t.notes = []string{fmt.Sprintf("The root on the ISO: plain %s, container %s; each ISO's command line has sandbox.cowsize=%s.", plain.onCD, cont.onCD, mediaCOW)}
	if plain.free != "" || cont.free != "" {
		t.notes = append(t.notes, fmt.Sprintf("mklive's \"room to write\" at build time: plain %s, container %s free in /.", plain.free, cont.free))
	}
	return []table{t}
}

// mediaBuildRows are the media's sizes and build times; toram boots the
// container's ISO, so it has none of its own.
func mediaBuildRows(ms []*medium) [][]string {
	plain := ms[0]
	size := func(label string, bytes func(*medium) int64) []string {
		r := []string{label}
		for _, m := range ms {
			if m.of != nil {
				r = append(r, "same ISO")
				continue
			}
			r = append(r, fmt.Sprintf("%d (%s)", bytes(m), config.HumanBytes(uint64(bytes(m)))))
		}
		r = append(r, fmt.Sprintf("%.2f", float64(bytes(ms[1]))/float64(bytes(plain))), "—")
		return r
	}
	built := []string{"build time, mklive.LiveCD (s)"}
	for _, m := range ms {
		if m.of != nil {
			built = append(built, "same ISO")
			continue
		}
		built = append(built, cell(m.builds, "%.2f"))
	}
	built = append(built, ratio(ms[1].builds, plain.builds), "—")
	return [][]string{
		size("ISO (bytes)", func(m *medium) int64 { return m.isoBytes }),
		size("  root image or container on the ISO (bytes)", func(m *medium) int64 { return m.rootBytes }),
		built,
	}
}
