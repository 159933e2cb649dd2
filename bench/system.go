package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// bench system (issue #15, parts 1–3): the whole system as a user boots it.
// scripts/setup.sh's Debian root with systemd, with a marker unit added,
// made into Live media by mklive (a plain ext2 image, and Fedora's LiveOS
// layout: LiveOS/squashfs.img holding LiveOS/rootfs.img, zstd), each on an
// IDE CD drive read at a real medium's speed (throttle.go), booted by a
// direct kernel boot of one kernel (Debian 12's standard one, the kernel
// dracut is made for) with each initramfs: ours in each mode, the how-to's
// recipe, and dracut's dmsquash-live. From the kernel's start to systemd's
// multi-user.target, and the initramfs stage on its own.
const (
	systemMemMiB = 1024 // every variant; toram needs the squashfs, the COW store and 512 MiB
	sysLabelZstd = "BENCHSYSZ"
	sysLabelNone = "BENCHSYSP"
)

// The marker: a oneshot unit ordered after multi-user.target (and wanted by
// it) stamps the kernel log, reports RAM and the root, and powers off.
const (
	sysMarkLine   = "sysbench: multi-user.target reached"
	sysMarkScript = `#!/bin/sh
echo "` + sysMarkLine + `" >/dev/kmsg
exec >/dev/console 2>&1
echo
echo "SYSBENCH mem=$(awk '/^(MemTotal|MemFree|MemAvailable|Shmem):/ {printf "%s%s ", $1, $2}' /proc/meminfo)"
echo "SYSBENCH root=$(awk '$2 == "/" {print $1, $3}' /proc/mounts)"
echo "SYSBENCH failed=$(systemctl --failed --no-legend --plain | awk '{printf "%s ", $1}')"
echo "SYSBENCH done"
systemctl poweroff -ff
`
)

// Console landmarks of a system boot.
const (
	// The real init's first line: systemd's own first kmsg line ("systemd
	// 252.x running in system mode"). Under dracut, systemd runs in the
	// initramfs first and prints it there too: the real one is the last.
	reSystemd = `systemd\[1\]: systemd \d+\S* running in system mode`
	reMark    = sysMarkLine
)

// sysVariant is one initramfs and medium under test: its kind (ours,
// recipe, dracut), the ISO it boots, its command line, and samples by
// medium and metric.
type sysVariant struct {
	name    string
	kind    string
	iso     *sysISO
	initrd  initramfs
	cmdline []string
	buildS  float64  // the initramfs's own build time (dracut, recipe); ours: in the ISO's
	failed  []string // boots that did not reach multi-user.target: medium and why
	samples map[string]map[string][]float64
}

func (v *sysVariant) add(medium, metric string, x float64) {
	if v.samples[medium] == nil {
		v.samples[medium] = map[string][]float64{}
	}
	v.samples[medium][metric] = append(v.samples[medium][metric], x)
}

// sysISO is one ISO built from the tree.
type sysISO struct {
	container, label, path string
	built
}

// systemOpts are bench system's options.
type systemOpts struct {
	common
	quick           bool
	media, variants string
	sysKernel       string
}

func newSystem(fs *flag.FlagSet) experiment {
	o := &systemOpts{}
	o.register(fs, 5, 90*time.Second)
	fs.BoolVar(&o.quick, "quick", false, "the DVD medium only, ours, recipe and dracut, at most 2 boots each (about 15 minutes)")
	fs.StringVar(&o.media, "sysmedia", "dvd,usb2,usb3,none", "media: dvd, usb2, usb3, none (unthrottled)")
	fs.StringVar(&o.variants, "sysvariants", "ours,ours-plain,ours-N,ours-toram,recipe,dracut", "variants: ours (the LiveOS zstd container), ours-plain, ours-N, ours-toram, recipe, dracut")
	fs.StringVar(&o.sysKernel, "syskernel", testvm.Std12, "the kernel of the cache the system boots (dracut's build root is made for deb12)")
	return o
}

func (o *systemOpts) options() *common { return &o.common }

func (o *systemOpts) check() error {
	_, err := findThrottles(o.media)
	return err
}

// plan: the recipe is built again for the system's kernel, not the
// boot's.
func (o *systemOpts) plan() plan { return plan{rootMiB: 128, memMiB: systemMemMiB} }

// run builds the media and the initramfs, boots each variant on each
// medium -n times, alternating, and returns the tables and the ratio
// lines.
func (o *systemOpts) run(repo string, img *images) ([]table, []string, error) {
	cache := testvm.CacheDir(repo)
	n, meds, names := o.n, o.media, o.variants
	if o.quick {
		n, meds, names = min(n, 2), "dvd", "ours,recipe,dracut"
	}
	media, err := findThrottles(meds)
	if err != nil {
		return nil, nil, err
	}
	sys, tree, treeBytes, inodes, err := systemPrep(cache, img, o.sysKernel, "system")
	if err != nil {
		return nil, nil, err
	}
	vs, err := systemVariants(cache, sys, tree, wanted(names))
	if err != nil {
		return nil, nil, err
	}
	logf("-system: mksquashfs of the tree (zstd, 1 MiB blocks), the ISO goal's yardstick")
	sq, err := squashTree(tree, filepath.Join(sys.Dir, "tree.squashfs"))
	if err != nil {
		return nil, nil, err
	}
	bootSystems(sys, vs, media, n)
	tables := systemTables(vs, media, n, sq, treeBytes, inodes)
	return tables, systemRatios(vs, media, sq), nil
}

// wanted is the set of a comma-separated list's names.
func wanted(list string) map[string]bool {
	want := map[string]bool{}
	for _, w := range strings.Split(list, ",") {
		want[strings.TrimSpace(w)] = true
	}
	return want
}

// systemISOs builds the ISOs the wanted variants boot: the plain one for
// ours-plain and the recipe, the zstd container for the others.
func systemISOs(sys *images, tree string, want map[string]bool) (plain, zstd *sysISO, err error) {
	plain = &sysISO{container: "none", label: sysLabelNone}
	zstd = &sysISO{container: "zstd", label: sysLabelZstd}
	var isos []*sysISO
	if want["ours-plain"] || want["recipe"] {
		isos = append(isos, plain)
	}
	isos = append(isos, zstd) // ours (container), toram, N, and dracut's LiveOS layout
	for _, is := range isos {
		is.path = filepath.Join(sys.Dir, "system-"+is.container+".iso")
		logf("-system: mklive LiveCD -container %s", is.container)
		if is.built, err = liveCD(sys, tree, is.container, is.label, is.path); err != nil {
			return nil, nil, fmt.Errorf("-system: the %s ISO: %w", is.container, err)
		}
		logf("-system: ISO %s: %d bytes, %.1f s", is.container, is.isoBytes, is.took.Seconds())
	}
	return plain, zstd, nil
}

// bootSystems boots every variant on every medium n times, alternating.
func bootSystems(sys *images, vs []*sysVariant, media []throttle, n int) {
	var names []string
	for _, m := range media {
		names = append(names, m.name)
	}
	bootAll("-system", vs, names, n, func(v, m, i int) error { return vs[v].bootOnce(sys, media[m], i) })
}

// bootAll boots every variant on every medium (or link) n times,
// alternating, with boot(variant, medium, i). One variant failing does not
// end the run: the table says so.
func bootAll(tag string, vs []*sysVariant, media []string, n int, boot func(v, m, i int) error) {
	for _, v := range vs {
		v.samples = map[string]map[string][]float64{}
	}
	for i := 1; i <= n; i++ {
		for m, medium := range media {
			for j, v := range vs {
				if err := boot(j, m, i); err != nil {
					why, _, _ := strings.Cut(err.Error(), "\n")
					v.failed = append(v.failed, medium+": "+why)
					logf("%s %d/%d %-5s %-10s  FAILED: %v", tag, i, n, medium, v.name, err)
					continue
				}
				s := v.samples[medium]
				logf("%s %d/%d %-5s %-10s  up at %.2f s, initramfs stage %.2f s, RAM in use %.0f MiB",
					tag, i, n, medium, v.name, last(s["up"]), last(s["stage"]), last(s["used"]))
			}
		}
	}
}

// systemPrep sets the kernel of the cache the system boots, and makes the
// experiment's directory sub of the work directory and the Debian tree in it.
func systemPrep(cache string, img *images, kernel, sub string) (*images, string, uint64, uint64, error) {
	k, err := testvm.Kernel(cache, kernel)
	if err != nil {
		return nil, "", 0, 0, err
	}
	img.kernel = k // the host note names the kernel booted
	sys := *img
	sys.Dir = filepath.Join(img.Dir, sub)
	if err := os.MkdirAll(sys.Dir, 0o755); err != nil {
		return nil, "", 0, 0, err
	}
	tree, treeBytes, inodes, err := systemTree(cache, sys.Dir)
	if err != nil {
		return nil, "", 0, 0, err
	}
	logf("-%s: the Debian root with the marker unit: %s, %d files, kernel %s", sub, config.HumanBytes(treeBytes), inodes, k.Version)
	return &sys, tree, treeBytes, inodes, nil
}

// systemTree copies the Debian root into dir/tree and adds the marker
// unit, enabled. It returns the tree and its size.
func systemTree(cache, dir string) (string, uint64, uint64, error) {
	tree := filepath.Join(dir, "tree")
	if err := testvm.DebianTree(cache, tree, "sysbench-up", sysMarkScript); err != nil {
		return "", 0, 0, fmt.Errorf("-system: %w", err)
	}
	b, in, err := mklive.TreeSize(tree)
	return tree, b, in, err
}

// squashRef is mksquashfs of the tree: the ISO goal's yardstick.
type squashRef struct {
	bytes int64
	took  float64
}

func squashTree(tree, out string) (squashRef, error) {
	start := time.Now()
	if err := hostcmd.Run("mksquashfs", tree, out, "-noappend", "-no-progress", "-quiet", "-comp", "zstd", "-b", "1M"); err != nil {
		return squashRef{}, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return squashRef{}, err
	}
	_ = os.Remove(out)
	return squashRef{bytes: st.Size(), took: time.Since(start).Seconds()}, nil
}

// bootOnce boots the variant from its ISO on medium m and records it.
func (v *sysVariant) bootOnce(img *images, m throttle, i int) error {
	name := fmt.Sprintf("system-%s-%s-%d", m.name, v.name, i)
	start := time.Now()
	mach := testvm.Machine{
		Name:   name,
		Kernel: img.kernel.Vmlinuz(), Initramfs: v.initrd.path,
		Append:    v.cmdline,
		QEMU:      m.driveArgs(v.iso.path),
		MemoryMiB: systemMemMiB,
		Timeout:   max(img.timeout, 300*time.Second),
	}
	return v.bootMachine(img.Dir, m.name, mach, start)
}

// bootMachine boots mach to multi-user.target, keeps its console in dir
// and records the boot under medium (or link).
func (v *sysVariant) bootMachine(dir, medium string, mach testvm.Machine, start time.Time) error {
	c, err := testvm.Run(mach, nil)
	c.Text = strings.ReplaceAll(c.Text, "\r", "")
	_ = os.WriteFile(filepath.Join(dir, mach.Name+".console"), []byte(c.Text), 0o644)
	cons := console{Console: c}
	if err != nil {
		return fmt.Errorf("%w%s", err, cons.tail())
	}
	r, err := parseSystemBoot(c.Text)
	if err != nil {
		return fmt.Errorf("%s: %w%s", mach.Name, err, cons.tail())
	}
	v.record(medium, r, start)
	return nil
}

// record adds one boot's figures under medium (or link): the landmarks,
// the stage, the wall time since start and the RAM in use.
func (v *sysVariant) record(medium string, r systemBoot, start time.Time) {
	v.add(medium, "up", r.up)
	v.add(medium, "runinit", r.runInit)
	v.add(medium, "stage", r.stage)
	v.add(medium, "userspace", r.up-r.realInit)
	if r.mounted > r.runInit {
		v.add(medium, "mounted", r.mounted-r.runInit)
	}
	v.add(medium, "wall", time.Since(start).Seconds())
	if r.usedMiB > 0 {
		v.add(medium, "used", r.usedMiB)
	}
	if r.availMiB > 0 {
		v.add(medium, "avail", r.availMiB)
	}
}

// systemBoot is what one system boot's console says.
type systemBoot struct {
	runInit  float64 // kernel stamp of "Run /init as init process"
	realInit float64 // of the real systemd's first line
	up       float64 // of the marker: multi-user.target reached
	mounted  float64 // of the first "EXT4-fs (dm-N): mounted": the root, on device-mapper; 0: not seen
	stage    float64 // realInit − runInit: the initramfs stage
	usedMiB  float64 // MemTotal − MemAvailable when up
	availMiB float64 // MemAvailable when up
	root     string  // what / is when up
	failed   string  // systemd's failed units when up
}

// parseSystemBoot reads a system boot's console: the kernel stamps of
// "Run /init", of the real systemd's first line (the last "systemd N
// running in system mode" line: under dracut, systemd prints one in the
// initramfs too) and of the marker, and the marker's reports.
func parseSystemBoot(text string) (systemBoot, error) {
	var r systemBoot
	c := testvm.Console{Text: text}
	if !strings.Contains(text, "\nSYSBENCH done") {
		return r, fmt.Errorf("the marker unit did not finish (no \"SYSBENCH done\"): multi-user.target not reached")
	}
	var ok bool
	if r.runInit, ok = c.KernelStamp(reRunInit); !ok {
		return r, fmt.Errorf("no kernel-stamped %q", reRunInit)
	}
	stamps := allStamps(text, reSystemd)
	if len(stamps) == 0 {
		return r, fmt.Errorf("no kernel-stamped %q", reSystemd)
	}
	r.realInit = stamps[len(stamps)-1]
	if r.up, ok = c.KernelStamp(reMark); !ok {
		return r, fmt.Errorf("no kernel-stamped %q", reMark)
	}
	r.stage = r.realInit - r.runInit
	r.mounted, _ = c.KernelStamp(`EXT4-fs \(dm-\d+\): mounted`)
	mem, _ := c.Value("SYSBENCH", "mem")
	kb := map[string]float64{}
	for _, f := range strings.Fields(mem) {
		if k, v, ok := strings.Cut(f, ":"); ok {
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				kb[k] = x
			}
		}
	}
	if kb["MemTotal"] > 0 && kb["MemAvailable"] > 0 {
		r.usedMiB = (kb["MemTotal"] - kb["MemAvailable"]) / 1024
		r.availMiB = kb["MemAvailable"] / 1024
	}
	r.root, _ = c.Value("SYSBENCH", "root")
	r.failed, _ = c.Value("SYSBENCH", "failed")
	return r, nil
}

// allStamps are the kernel stamps of every console line matching re.
func allStamps(text, re string) []float64 {
	var out []float64
	for _, m := range regexp.MustCompile(`\[\s*(\d+\.\d+)\] .*`+re).FindAllStringSubmatch(text, -1) {
		if f, err := strconv.ParseFloat(m[1], 64); err == nil {
			out = append(out, f)
		}
	}
	return out
}
