package main

import (
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

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

// bootOpts are bench boot's options.
type bootOpts struct {
	common
	svg string // where to draw the timeline, if anywhere
}

func newBoot(fs *flag.FlagSet) experiment {
	o := &bootOpts{}
	o.register(fs, 5, 90*time.Second)
	fs.StringVar(&o.svg, "svg", "", "also draw the boot phases as an SVG timeline into this file (docs/boot-timeline.svg in the README)")
	return o
}

func (o *bootOpts) options() *common { return &o.common }
func (o *bootOpts) check() error     { return nil }
func (o *bootOpts) plan() plan       { return plan{rootMiB: 128, recipe: true, memMiB: 512} }

// run boots our init on the plain CD, our init on mklive's default Live
// CD and the recipe on the plain CD, alternately, n times each. It returns
// the tables and the ratio lines for scripts, and with -svg draws the
// timeline.
func (o *bootOpts) run(_ string, img *images) ([]table, []string, error) {
	logf("building mklive's default Live CD (zstd container, dm-verity) of the test root")
	liveISO, liveWords, err := buildLive(img)
	if err != nil {
		return nil, nil, err
	}
	ours := &variant{name: "ours", initrd: img.ours, samples: map[string][]float64{}, phases: map[string][]float64{}}
	live := &variant{name: "livecd", initrd: img.ours, samples: map[string][]float64{}, phases: map[string][]float64{}}
	recipe := &variant{name: "recipe", initrd: img.recipe, samples: map[string][]float64{}}
	boots := []struct {
		v    *variant
		spec bootSpec
	}{
		{ours, bootSpec{cd: img.CD, cmdline: baseCmdline}},
		{live, bootSpec{cd: liveISO, cmdline: append(append([]string{}, baseCmdline...), liveWords...)}},
		{recipe, bootSpec{cd: img.CD, cmdline: baseCmdline}},
	}
	for i := 1; i <= o.n; i++ {
		for _, b := range boots {
			b.spec.name, b.spec.initrd = fmt.Sprintf("%s-%d", b.v.name, i), b.v.initrd.path
			c, err := img.bootWith(b.spec)
			if err != nil {
				return nil, nil, err
			}
			if err := b.v.record(b.spec.name, c); err != nil {
				return nil, nil, err
			}
			if b.v == live {
				if err := checkLive(b.spec.name, c); err != nil {
					return nil, nil, err
				}
			}
			logf("boot %d/%d %-6s  init cost %.3f s, real init at %.3f s", i, o.n, b.v.name,
				last(b.v.samples["cost"]), last(b.v.samples["kernel"]))
		}
	}
	if o.svg != "" {
		title := fmt.Sprintf("\"Run /init\" → real init: the median boot of %d each (%s, QEMU TCG%s)", o.n, img.kernel.Version,
			strings.TrimRight(" "+strings.Join(img.qemu, " "), " "))
		if err := writeTimeline(o.svg, title, bootTimeline(recipe, ours, live)); err != nil {
			return nil, nil, err
		}
		logf("timeline written to %s", o.svg)
	}
	lines := []string{ratioLineMedians("init-cost", "recipe", ours.samples["cost"], recipe.samples["cost"]),
		ratioLineMedians("init-cost-livecd", "recipe", live.samples["cost"], recipe.samples["cost"]),
		// The host's speed changes from boot to boot, in steps (on 2
		// shared CPUs one boot of an initramfs cost 1.07 s, the next
		// 1.75 s): the fastest boot of each is the one least disturbed.
		ratioLine("init-cost-fastest", "recipe", slices.Min(ours.samples["cost"]), slices.Min(recipe.samples["cost"])),
		ratioLine("init-cost-livecd-fastest", "recipe", slices.Min(live.samples["cost"]), slices.Min(recipe.samples["cost"]))}
	return bootTables(img, o.n, ours, live, recipe), lines, nil
}

// checkLive checks that a Live CD boot was the one meant: the image came
// out of the container, through dm-verity.
func checkLive(name string, c console) error {
	st, err := c.sandboxState(name)
	if err != nil {
		return err
	}
	if st.Verity == nil || st.Container == "" {
		return fmt.Errorf("%s: state.json has no verity or no container: the Live CD did not boot as mklive made it%s", name, c.tail())
	}
	return nil
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
	st, err := c.sandboxState(name)
	if err != nil {
		return err
	}
	sum := 0.0
	for _, p := range st.Phases {
		if _, seen := v.phases[p.Name]; !seen {
			v.order = append(v.order, p.Name)
		}
		v.phases[p.Name] = append(v.phases[p.Name], p.Millis)
		sum += p.Millis
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
