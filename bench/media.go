package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/mklive"
)

// bench media (issue #13): the bench's busybox test root made into Live media
// by mklive, as a plain ext2 image at /initrd-ext2 and in a zstd container
// (a 4 GiB sparse ext4 image in LiveOS/squashfs.img), and the container
// booted again with sandbox.toram=yes. Every boot is a direct kernel boot
// of the same kernel and initramfs (mklive's default, which holds
// squashfs), the ISO on IDE: only the init's work differs.
const (
	mediaMemMiB = 1024 // toram needs MemAvailable ≥ image + COW store + 512 MiB
	mediaCOW    = "64M"
)

// medium is one Live medium under test: what it is built from, its ISO,
// and its boots' samples.
type medium struct {
	*variant
	container string   // mklive's -container: none or zstd
	label     string   // the ISO's volume label, sandbox.cd=LABEL=
	extra     []string // sandbox.* words beyond the CD's own
	of        *medium  // toram: the medium it boots, built once there
	iso       string
	builds    []float64 // build time, s
	isoBytes  int64
	rootBytes int64  // the root image or its container on the CD
	onCD      string // its path there
	free      string // mklive's "room to write" for the built image
	verity    string // the root hash on its command line
}

func newMedium(name string) *medium {
	return &medium{variant: &variant{name: name, samples: map[string][]float64{}, phases: map[string][]float64{}}}
}

// mediaOpts are bench media's options.
type mediaOpts struct {
	common
	debian bool
}

func newMedia(fs *flag.FlagSet) experiment {
	o := &mediaOpts{}
	o.register(fs, 5, 90*time.Second)
	fs.BoolVar(&o.debian, "debian", false, "also build ISOs of scripts/setup.sh's Debian root with each -container, and mksquashfs of the tree, -n times each (a few minutes)")
	return o
}

func (o *mediaOpts) options() *common { return &o.common }
func (o *mediaOpts) check() error     { return nil }
func (o *mediaOpts) plan() plan       { return plan{rootMiB: 128, memMiB: mediaMemMiB} }

// run builds the media -n times each, boots each -n times, in turn, and
// with -debian times the Debian root's builds too. It returns the tables
// and the ratio lines for scripts.
func (o *mediaOpts) run(repo string, img *images) ([]table, []string, error) {
	tree := filepath.Join(img.Dir, "tree")
	if _, err := os.Stat(filepath.Join(tree, "sbin", "init")); err != nil {
		return nil, nil, fmt.Errorf("the test root's tree: %w", err)
	}
	plain, cont, toram := newMedium("plain"), newMedium("container"), newMedium("toram")
	plain.container, plain.label = "none", "BENCHPLAIN"
	cont.container, cont.label = "zstd", "BENCHZSTD"
	toram.of, toram.extra = cont, []string{"sandbox.toram=yes"}
	ms := []*medium{plain, cont, toram}
	for i := 1; i <= o.n; i++ {
		for _, m := range []*medium{plain, cont} {
			if err := m.build(img, tree); err != nil {
				return nil, nil, err
			}
			logf("build %d/%d %-9s  %.1f s, ISO %d bytes", i, o.n, m.name, last(m.builds), m.isoBytes)
		}
	}
	for i := 1; i <= o.n; i++ {
		for _, m := range ms {
			if err := m.bootOnce(img, i); err != nil {
				return nil, nil, err
			}
			logf("boot %d/%d %-9s  init cost %.3f s, real init at %.3f s, / free %.0f MiB", i, o.n, m.name,
				last(m.samples["cost"]), last(m.samples["kernel"]), last(m.samples["rootfree"]))
		}
	}
	tables := mediaTables(ms, o.n)
	if o.debian {
		t, err := benchDebian(repo, img, o.n)
		if err != nil {
			return nil, nil, err
		}
		tables = append(tables, t)
	}
	lines := []string{
		"ratio media-container/plain=" + ratio(cont.samples["cost"], plain.samples["cost"]),
		"ratio media-toram/plain=" + ratio(toram.samples["cost"], plain.samples["cost"]),
	}
	return tables, lines, nil
}

// build makes the medium's ISO with mklive.LiveCD from the tree, timed, and
// reads its sizes.
func (m *medium) build(img *images, tree string) error {
	m.iso = filepath.Join(img.Dir, "media-"+m.name+".iso")
	d, err := liveCD(img, tree, m.container, m.label, m.iso)
	if err != nil {
		return fmt.Errorf("building the %s medium: %w", m.name, err)
	}
	m.builds = append(m.builds, d.took.Seconds())
	m.isoBytes, m.rootBytes, m.onCD, m.free, m.verity = d.isoBytes, d.rootBytes, d.onCD, d.free, d.verity
	return nil
}

// built is what one mklive.LiveCD run made.
type built struct {
	took      time.Duration
	isoBytes  int64
	rootBytes int64  // the root image or its container, on the CD
	onCD      string // its path there
	free      string // mklive's "room to write": free space in the image's /
	verity    string // the root hash on the ISO's command line (sandbox.verity)
}

// liveCD builds an ISO as `mklive iso -root TREE -container C` does, with
// sandbox.cowsize on its command line (it sizes a container's image), and
// measures it.
func liveCD(img *images, tree, container, label, out string) (built, error) {
	var b built
	_ = os.Remove(out)
	var log []string
	start := time.Now()
	err := mklive.LiveCD(mklive.LiveCDSpec{Kernel: img.kernel, Init: img.cdInit, Root: tree, Container: container,
		Label: label, Append: "sandbox.cowsize=" + mediaCOW, Out: out,
		Log: func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }})
	b.took = time.Since(start)
	if err != nil {
		return b, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return b, err
	}
	b.isoBytes = st.Size()
	b.onCD = mklive.PlainImagePath
	if container != "none" && container != "" {
		b.onCD = mklive.ContainerPath
	}
	if b.rootBytes, err = isoFileSize(out, b.onCD); err != nil {
		return b, err
	}
	// "room to write: 3.9 GiB free in /", or "warning: / has 18 MiB free,
	// less than the 64 MiB COW store".
	re := regexp.MustCompile(`^(?:room to write: |warning: / has )(.*?) free(,| in /)`)
	for _, l := range log {
		if m := reRootHash.FindStringSubmatch(l); m != nil {
			b.verity = m[1]
		}
		if m := re.FindStringSubmatch(l); m != nil {
			b.free = m[1]
			if m[2] == "," {
				b.free += " (< the COW store)"
			}
		}
	}
	return b, nil
}

// isoFileSize is the size of a file on an ISO image, as xorriso lists it.
func isoFileSize(iso, path string) (int64, error) {
	out, err := exec.Command("xorriso", "-indev", iso, "-lsl", path).Output()
	if err != nil {
		return 0, fmt.Errorf("xorriso -lsl %s on %s: %w", path, iso, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 5 && strings.Contains(line, path) {
			return strconv.ParseInt(f[4], 10, 64)
		}
	}
	return 0, fmt.Errorf("xorriso lists no %s on %s: %q", path, iso, out)
}

// liveWords is a boot's command line for an ISO mklive built: base, then
// the sandbox.* words of the ISO's own command line (the CD by its label,
// sandbox.image for a container) with extra, and sandbox.verity=ROOT when
// the ISO has a root hash, as it ships.
func liveWords(base []string, label, container, extra, verity string) ([]string, error) {
	line, _, _, err := mklive.LiveCmdline(label, container, extra)
	if err != nil {
		return nil, err
	}
	words := append([]string{}, base...)
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "sandbox.") {
			words = append(words, w)
		}
	}
	if verity != "" {
		words = append(words, "sandbox.verity="+verity)
	}
	return words, nil
}

// cmdline is the medium's kernel command line: the bench's console words,
// the ISO's with the COW store's size and the medium's extra words.
func (m *medium) cmdline() ([]string, error) {
	src := m
	if m.of != nil {
		src = m.of
	}
	return liveWords([]string{"console=ttyS0", "loglevel=7", "panic=-1", "sandbox.onfail=poweroff"}, src.label, src.container,
		strings.Join(append([]string{"sandbox.cowsize=" + mediaCOW}, m.extra...), " "), src.verity)
}

// bootOnce boots the medium's ISO (the container's, for toram) once and
// records the boot.
func (m *medium) bootOnce(img *images, i int) error {
	src := m
	if m.of != nil {
		src = m.of
	}
	cmd, err := m.cmdline()
	if err != nil {
		return err
	}
	name := fmt.Sprintf("media-%s-%d", m.name, i)
	c, err := img.bootWith(bootSpec{name: name, initrd: img.ours.path, cd: src.iso, cmdline: cmd, memMiB: mediaMemMiB})
	if err != nil {
		return err
	}
	if err := m.record(name, c); err != nil {
		return err
	}
	return m.recordMedia(name, c)
}

// mediaPhases are the sandbox-init phases the media make differ: finding
// the CD, the copy to RAM, attaching the image (through the squashfs for
// a container), letting go of the CD, and mounting the snapshot.
var mediaPhases = []string{"cd", "toram", "image", "eject", "mount"}

// recordMedia checks that the boot used the medium as meant (state.json)
// and takes what only -media reports: df of /, and the phases outside
// mediaPhases as one sum.
func (m *medium) recordMedia(name string, c console) error {
	st, err := c.sandboxState(name)
	if err != nil {
		return err
	}
	wantContainer, wantRAM := m.container == "zstd" || m.of != nil, m.of != nil
	if got := st.Container != ""; got != wantContainer {
		return fmt.Errorf("%s: state.json has a container: %v, want %v: %q", name, got, wantContainer, st.Container)
	}
	if got := st.ImageInRAM != ""; got != wantRAM {
		return fmt.Errorf("%s: state.json has image_in_ram: %v, want %v: %q", name, got, wantRAM, st.ImageInRAM)
	}
	df, _ := c.value("df")
	f := strings.Fields(df)
	if len(f) != 3 {
		return fmt.Errorf("%s: no df of / (BENCH df=%q)%s", name, df, c.tail())
	}
	for i, metric := range []string{"rootsize", "rootused", "rootfree"} {
		kib, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return fmt.Errorf("%s: BENCH df=%q: %v", name, df, err)
		}
		m.add(metric, kib/1024)
	}
	n := len(m.samples["phasesum"])
	other := last(m.samples["phasesum"])
	for _, p := range mediaPhases {
		if xs := m.phases[p]; len(xs) == n {
			other -= last(xs)
		}
	}
	m.add("otherphases", other)
	return nil
}
