package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// bench verity (issue #14): what checking every block with dm-verity costs. The
// test root with a file of verityMiB MiB of noise (no compressor shrinks
// it, so a container holds it as it is) is built into Live CDs by
// mklive.LiveCD with and without verity, plain and in a zstd container;
// each is booted -n times, alternating, and its guest reads the file once
// with the page cache dropped.
const verityMiB = 48

// verityMedium is one of -verity's Live CDs and its boots.
type verityMedium struct {
	*variant
	container string
	verity    bool
	iso, root string // the ISO; the root hash on its command line
	isoBytes  int64
}

// The guest's kernel-stamped lines around its read of /bench.big, and
// mklive's log line with the root hash.
const (
	reReadStart = `bench: read start`
	reReadEnd   = `bench: read end`
)

var reRootHash = regexp.MustCompile(`root hash ([0-9a-f]{64})`)

// verityOpts are bench verity's options.
type verityOpts struct{ common }

func newVerity(fs *flag.FlagSet) experiment {
	o := &verityOpts{}
	o.register(fs, 5, 90*time.Second)
	return o
}

func (o *verityOpts) options() *common { return &o.common }
func (o *verityOpts) check() error     { return nil }
func (o *verityOpts) plan() plan       { return plan{rootMiB: 128, memMiB: mediaMemMiB} }

// run builds the four media, boots each -n times in turn, and returns
// the table and the ratio lines.
func (o *verityOpts) run(_ string, img *images) ([]table, []string, error) {
	ms, err := verityMedia(img)
	if err != nil {
		return nil, nil, err
	}
	for i := 1; i <= o.n; i++ {
		for _, m := range ms {
			if err := m.bootOnce(img, i); err != nil {
				return nil, nil, err
			}
			logf("boot %d/%d %-16s init cost %.3f s, read %.1f MiB/s", i, o.n, m.name, last(m.samples["cost"]), last(m.samples["readmib"]))
		}
	}
	var lines []string
	for i := 0; i < len(ms); i += 2 {
		base := strings.TrimSuffix(ms[i].name, "+verity")
		lines = append(lines,
			fmt.Sprintf("ratio verity-init-cost %s+verity/%s=%s", base, base, ratio(ms[i+1].samples["cost"], ms[i].samples["cost"])),
			fmt.Sprintf("ratio verity-read %s+verity/%s=%s", base, base, ratio(ms[i+1].samples["readmib"], ms[i].samples["readmib"])))
	}
	return []table{verityTable(ms, o.n)}, lines, nil
}

// verityMedia builds the test root with the noise file into the four Live
// CDs: plain and container, each without and with verity.
func verityMedia(img *images) ([]*verityMedium, error) {
	tree := filepath.Join(img.Dir, "verity-tree")
	if err := hostcmd.Run("cp", "-a", filepath.Join(img.Dir, "tree"), tree); err != nil {
		return nil, err
	}
	noise := make([]byte, verityMiB<<20)
	rand.New(rand.NewSource(1)).Read(noise)
	if err := os.WriteFile(filepath.Join(tree, "bench.big"), noise, 0o644); err != nil {
		return nil, err
	}
	var ms []*verityMedium
	for _, c := range []string{"none", "zstd"} {
		for _, v := range []bool{false, true} {
			name := map[string]string{"none": "plain", "zstd": "container"}[c] + map[bool]string{true: "+verity"}[v]
			m := &verityMedium{variant: &variant{name: name, samples: map[string][]float64{}, phases: map[string][]float64{}}, container: c, verity: v}
			if err := m.build(img, tree); err != nil {
				return nil, err
			}
			logf("built %-16s ISO %s", m.name, config.HumanBytes(uint64(m.isoBytes)))
			ms = append(ms, m)
		}
	}
	return ms, nil
}

// build makes the medium's ISO and reads its root hash from mklive's log.
func (m *verityMedium) build(img *images, tree string) error {
	m.iso = filepath.Join(img.Dir, "verity-"+strings.ReplaceAll(m.name, "+", "-")+".iso")
	var log []string
	err := mklive.LiveCD(mklive.LiveCDSpec{Kernel: img.kernel, Init: img.cdInit, Root: tree, Container: m.container, NoVerity: !m.verity,
		Append: "sandbox.cowsize=" + mediaCOW, Out: m.iso, Label: "BENCHVERITY",
		Log: func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }})
	if err != nil {
		return fmt.Errorf("building %s: %w", m.name, err)
	}
	if m.verity {
		for _, l := range log {
			if r := reRootHash.FindStringSubmatch(l); r != nil {
				m.root = r[1]
			}
		}
		if m.root == "" {
			return fmt.Errorf("%s: mklive logged no root hash", m.name)
		}
	}
	st, err := os.Stat(m.iso)
	if err != nil {
		return err
	}
	m.isoBytes = st.Size()
	return nil
}

// bootOnce boots the ISO's contents with the bench's kernel and initramfs
// and records the init cost, the phases and the read.
func (m *verityMedium) bootOnce(img *images, i int) error {
	words, err := liveWords([]string{"console=ttyS0", "loglevel=7", "panic=-1", "sandbox.onfail=poweroff", "bench.read"},
		"BENCHVERITY", m.container, "sandbox.cowsize="+mediaCOW, m.root)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("verity-%s-%d", strings.ReplaceAll(m.name, "+", "-"), i)
	c, err := img.bootWith(bootSpec{name: name, initrd: img.ours.path, cd: m.iso, cmdline: words, memMiB: mediaMemMiB})
	if err != nil {
		return err
	}
	if err := m.record(name, c); err != nil {
		return err
	}
	st, err := c.sandboxState(name)
	if err != nil {
		return err
	}
	if got := st.Verity != nil; got != m.verity {
		return fmt.Errorf("%s: state.json has verity: %v, want %v", name, got, m.verity)
	}
	t0, err := c.mustStamp(name, reReadStart)
	if err != nil {
		return err
	}
	t1, err := c.mustStamp(name, reReadEnd)
	if err != nil {
		return err
	}
	if v, _ := c.value("read"); v != "ok" {
		return fmt.Errorf("%s: the read of /bench.big failed: %q%s", name, v, c.tail())
	}
	m.add("readmib", verityMiB/max(t1-t0, 1e-6))
	return nil
}
