package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// Kernel console lines both variants print, used as landmarks of the
// initramfs stage without touching either init.
const (
	reRunInit = `Run /init as init process`
	reRealIni = testvm.RealInitLine
	reCD      = `sr \d+:\d+:\d+:\d+: \[sr0\]` // sr_mod registered the CD drive
	reRootMnt = `EXT4-fs \(dm-\d+\): mounted` // the snapshot is mounted (dm-1 over sandbox.verity's dm-0)
)

// variant is one initramfs under test and its samples, by metric.
type variant struct {
	name    string
	initrd  initramfs
	samples map[string][]float64
	phases  map[string][]float64 // ours only: /run/sandbox/state.json
	order   []string             // phase names in boot order
	modules string               // what our init's log says it loaded
}

func (v *variant) add(metric string, x float64) { v.samples[metric] = append(v.samples[metric], x) }

// benchBoot boots our init and the recipe alternately, n times each. It
// returns the tables and the ratio line for scripts, and with -svg draws
// the timeline.
func benchBoot(img *images) ([]table, []string, error) {
	vs := []*variant{
		{name: "ours", initrd: img.ours, samples: map[string][]float64{}, phases: map[string][]float64{}},
		{name: "recipe", initrd: img.recipe, samples: map[string][]float64{}},
	}
	for i := 1; i <= *flagN; i++ {
		for _, v := range vs {
			name := fmt.Sprintf("%s-%d", v.name, i)
			c, err := img.boot(name, v.initrd.path)
			if err != nil {
				return nil, nil, err
			}
			if err := v.record(name, c); err != nil {
				return nil, nil, err
			}
			logf("boot %d/%d %-6s  init cost %.3f s, real init at %.3f s", i, *flagN, v.name,
				last(v.samples["cost"]), last(v.samples["kernel"]))
		}
	}
	if *flagSVG != "" {
		title := fmt.Sprintf("\"Run /init\" → real init: the median boot of %d each (%s, QEMU TCG)", *flagN, img.kernel.Version)
		if err := writeTimeline(*flagSVG, title, bootTimeline(vs[0], vs[1])); err != nil {
			return nil, nil, err
		}
		logf("timeline written to %s", *flagSVG)
	}
	lines := []string{ratioLineMedians("init-cost", "recipe", vs[0].samples["cost"], vs[1].samples["cost"])}
	return bootTables(img, vs[0], vs[1]), lines, nil
}

func last(xs []float64) float64 { return xs[len(xs)-1] }

// record takes one boot's numbers from its console.
func (v *variant) record(name string, c console) error {
	if !c.Contains("\nBENCH done") {
		return fmt.Errorf("%s: the real init did not finish (no \"BENCH done\")%s", name, c.tail())
	}
	tRun, err := c.mustStamp(name, reRunInit)
	if err != nil {
		return err
	}
	tReal, err := c.mustStamp(name, reRealIni)
	if err != nil {
		return err
	}
	v.recordLandmarks(c, tRun, tReal)
	v.recordMemory(c)
	if m := regexp.MustCompile(`sandbox-init: ([^\n]*\d+ modules[^\n]*)`).FindStringSubmatch(c.Text); m != nil {
		v.modules = m[1]
	}
	if v.phases == nil {
		return nil
	}
	return v.recordPhases(name, c, tRun, tReal)
}

// recordLandmarks takes the kernel-stamped times: Run /init at tRun, the
// real init at tReal, and the landmarks between.
func (v *variant) recordLandmarks(c console, tRun, tReal float64) {
	v.add("cost", tReal-tRun)
	v.add("kernel", tReal)
	v.add("runinit", tRun)
	if t, ok := c.KernelStamp(reCD); ok {
		v.add("cd", t-tRun)
	}
	if t, ok := c.KernelStamp(reRootMnt); ok {
		v.add("root", t-tRun)
		v.add("tail", tReal-t)
	}
}

// recordMemory takes the guest's RAM use at the real init and QEMU's peak
// RSS then.
func (v *variant) recordMemory(c console) {
	total, ok1 := c.meminfo("MemTotal")
	free, ok2 := c.meminfo("MemFree")
	if ok1 && ok2 {
		v.add("used", (total-free)/1024)
	}
	if x, ok := c.meminfo("Shmem"); ok {
		v.add("shmem", x/1024)
	}
	if c.hwm > 0 {
		v.add("hwm", float64(c.hwm)/(1<<20))
	}
}

// recordPhases takes our init's phases (state.json) and what lies outside
// them.
func (v *variant) recordPhases(name string, c console, tRun, tReal float64) error {
	// The switch_root line, stamped by the kernel (dmesg) and by our init
	// on the console (its own clock): the tail after the phases, and how far
	// the two clocks disagree.
	var tSwitch float64
	if line, ok := c.value("kmsg_switch"); ok {
		tSwitch, _ = testvm.Console{Text: line}.KernelStamp("")
	}
	if tSwitch > 0 {
		v.add("switch", (tReal-tSwitch)*1000)
		if own, ok := c.KernelStamp(`sandbox-init: switch_root`); ok {
			v.add("skew", (tSwitch-own)*1000)
		}
	}
	js, ok := c.value("state")
	if !ok {
		return fmt.Errorf("%s: our init's real init printed no /run/sandbox/state.json%s", name, c.tail())
	}
	var st struct {
		Phases []struct {
			Name string  `json:"name"`
			Ms   float64 `json:"ms"`
		} `json:"phases"`
	}
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		return fmt.Errorf("%s: state.json: %v: %s", name, err, js)
	}
	sum := 0.0
	for _, p := range st.Phases {
		if _, seen := v.phases[p.Name]; !seen {
			v.order = append(v.order, p.Name)
		}
		v.phases[p.Name] = append(v.phases[p.Name], p.Ms)
		sum += p.Ms
	}
	v.add("phasesum", sum)
	// What the phases do not cover: the exec of /init and the Go runtime's
	// start, the API mounts and the command line before the first phase,
	// switch_root, and the real init's exec from the snapshot.
	v.add("outside", (tReal-tRun)*1000-sum)
	if tSwitch > 0 {
		v.add("before", (tSwitch-tRun)*1000-sum)
	}
	return nil
}

func bootTables(img *images, ours, recipe *variant) []table {
	n := *flagN
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
	t.notes = []string{
		"init cost = kernel stamp of the real init's first /dev/kmsg line minus that of \"Run /init as init process\"; it includes the real init's own exec from the snapshot, the same for both.",
		"Peak RAM of the initramfs stage itself is not measured from inside: neither init is instrumented. The unpacked files sit in RAM (rootfs) for the whole stage, and the compressed image until the kernel has unpacked it; add the init's own processes (not measured).",
		"RAM in use at real init is what the stage left behind (modules, brd, dm, page cache of the CD, processes still running and files they hold: Shmem counts deleted initramfs files still open); QEMU's VmHWM is a host-side high-water proxy: guest pages touched so far (init_on_alloc zeroes each allocated page) plus QEMU's own memory, TCG code cache included.",
	}
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
	p.notes = []string{"\"outside the phases\" = init cost − sum. \"before and between\": from \"Run /init\" to our switch_root log line (kernel stamp, from dmesg) minus the phases: exec of /init, Go's start, API mounts and config. \"switch_root → real init\": moving the mounts, deleting the initramfs, exec of the real init from the snapshot. The recipe writes no state file, so it has no such breakdown; compare the landmarks above."}
	if s, ok := summarize(ours.samples["skew"]); ok {
		p.notes = append(p.notes, fmt.Sprintf("Clocks: our init's console stamps (CLOCK_BOOTTIME) run %.1f ms (median; %.1f to %.1f) behind the kernel's printk stamps of the same line.", s.med, s.min, s.max))
	}
	return []table{t, p}
}
