// Command bench measures sandbox-init against the sandbox how-to's shell
// recipe (issue #5) and the alternatives, booting them in QEMU (TCG) with
// the same kernel and CD. Each experiment is a subcommand with its own
// flags; docs/bench.md says how each measures and how to read its tables:
//
//	go run ./bench boot [-n 5] [-md] [-svg FILE]  boot time, initramfs size, memory, our phases
//	go run ./bench io [-n 3]           sandbox write throughput and RAM cost per chunk size
//	go run ./bench media [-debian]     Live media: plain ext2 vs zstd container vs toram (issue #13)
//	go run ./bench verity              dm-verity's cost: init cost and read throughput (issue #14)
//	go run ./bench system [-quick]     the whole Debian system on emulated DVD/USB media: ours vs recipe vs dracut (issue #15)
//	go run ./bench work [-n 3]         the sandbox at work: dd, small files, tree copy vs ext4 on brd and overlayfs on tmpfs
//	go run ./bench fleet               the fetcher on the host: 1, 8, 64 clients from one nginx on a throttled link, nginx down 10 s
//	go run ./bench livenet [-quick]    the Debian system over a throttled network: ours (HTTP, NBD) vs dracut livenet (issue 22)
//	go run ./bench all [-quick]        boot, work, system and verity in turn, as Markdown, every ratio line again at the end
//
// The flags of before (-io, -media, -verity, -system, -work, -all; none
// for the boot) still choose the experiment. It boots Debian 12's cloud
// kernel from scripts/setup.sh's cache (-kernel picks another), through
// internal/testvm, which builds the test root and the CD the VM tests use
// too. It only runs host tools (go, mke2fs, xorriso, cpio, gzip, apt-get,
// dpkg, qemu-system-x86_64); scripts/bench.sh installs them first.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// common are the options every experiment has.
type common struct {
	n       int
	md      bool
	timeout time.Duration
	keep    bool
	kernel  string
	icount  int    // -icount: QEMU's -icount shift (virtual time), -1 for the host's clock
	cpu     string // -cpu: QEMU's CPU model, "" for its default
}

// register adds the common options to fs, with the experiment's defaults
// for -n and -timeout.
func (c *common) register(fs *flag.FlagSet, n int, timeout time.Duration) {
	fs.IntVar(&c.n, "n", n, "boots per variant (the variants alternate, so noise hits both alike)")
	fs.BoolVar(&c.md, "md", false, "print the tables as Markdown")
	fs.DurationVar(&c.timeout, "timeout", timeout, "limit for one QEMU boot")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (images and every console log)")
	fs.IntVar(&c.icount, "icount", -1, "run the guests on a virtual clock, QEMU's -icount shift=N,sleep=on (one instruction takes 2^N ns; while the guest idles, waiting on a timer or on I/O, the clock runs with the host's): times independent of the host's load, for comparing changes on a busy host, but not TCG's own cost of translating new code (docs/bench.md); -1: the host's clock")
	fs.StringVar(&c.cpu, "cpu", "", "QEMU's -cpu model for every guest (max: what TCG emulates, SSSE3 and AVX2 among it, so sha256_ssse3 hashes for dm-verity); empty: QEMU's default (qemu64, no SSSE3)")
	fs.StringVar(&c.kernel, "kernel", testvm.Cloud12, "the kernel of the cache to boot: "+strings.Join(testvm.Kernels, ", ")+" ($SANDBOX_KERNEL_ROOT, a kernel tree, overrides it)")
}

func (c *common) check() error {
	if c.icount < -1 || c.icount > 10 {
		return fmt.Errorf("-icount %d: want a shift of 0 to 10, or -1 for none", c.icount)
	}
	if c.n < 1 {
		return fmt.Errorf("-n %d: want 1 or more", c.n)
	}
	if !slices.Contains(testvm.Kernels, c.kernel) {
		return fmt.Errorf("-kernel %q: want one of %s", c.kernel, strings.Join(testvm.Kernels, ", "))
	}
	return nil
}

// plan is what an experiment needs of build: the test root's room, the
// recipe's initramfs, and the guest's RAM (for the host note).
type plan struct {
	rootMiB int
	recipe  bool
	memMiB  int
}

// experiment is one subcommand: its options, checked once parsed, what
// it needs built, and the run that returns its tables and the ratio lines
// for scripts.
type experiment interface {
	options() *common
	check() error
	plan() plan
	run(repo string, img *images) ([]table, []string, error)
}

// entry is a subcommand: its name, what it measures (for the usage), and
// what makes its options on its own flag set.
type entry struct {
	name, what string
	make       func(fs *flag.FlagSet) experiment
}

// experiments are the subcommands; all runs others in turn.
var experiments = []entry{
	{"boot", "boot time, initramfs size, memory and our phases, ours vs the how-to's recipe", newBoot},
	{"io", "sandbox write throughput and RAM cost per chunk size and store, against raw brd and ext2 on brd", newIO},
	{"media", "Live media: plain ext2 image vs zstd container vs toram (issue #13)", newMedia},
	{"verity", "dm-verity's cost: the same Live CD with and without verity (issue #14)", newVerity},
	{"system", "the whole Debian system from throttled media: ours vs the recipe vs dracut (issue #15)", newSystem},
	{"work", "the sandbox at work: dd, small files and a tree copy vs ext4 on brd and overlayfs on tmpfs (issue #15)", newWork},
	{"net", "network boot: mklive netboot's tree over QEMU's user network, Run /init to switch_root per MiB, download vs raw rate (issue 22)", newNet},
	{"start", "what an init costs before it works (busybox, a bare Go program, ours) and the sizes of each init build and initramfs (issue 24)", newStart},
	{"fleet", "on the host, no VM: 1, 8, 64 fetchers at once from one nginx on a throttled link, and nginx down for 10 s (issue 22)", nil},
	{"livenet", "the Debian system over a throttled network to multi-user.target: ours (HTTP into RAM, NBD) vs dracut livenet (issue 22)", newLivenet},
	{"all", "boot, work, system and verity in turn, as Markdown, the ratio lines again at the end", nil},
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "relay" { // bench livenet's link, run by QEMU: relay.go
		os.Exit(relayMain(os.Args[2:]))
	}
	name, args := subcommand(os.Args[1:])
	var err error
	if name == "all" {
		err = runAll(args, os.Stdout)
	} else if name == "fleet" { // no VM: nothing to build, its own flags
		err = runFleet(args, os.Stdout)
	} else {
		err = runOne(name, args, os.Stdout, nil)
	}
	var usage usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, &usage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// subcommand is the experiment the arguments name and its arguments. The
// flags of before the subcommands name it too: -io, -media, -verity,
// -system, -work or -all anywhere, and no mode at all is the boot.
func subcommand(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	for i, a := range args {
		name := strings.TrimLeft(a, "-")
		if name != a && name != "boot" && findExperiment(name) {
			return name, slices.Delete(slices.Clone(args), i, i+1)
		}
	}
	return "boot", args
}

func findExperiment(name string) bool {
	return slices.ContainsFunc(experiments, func(e entry) bool { return e.name == name })
}

// usageError is a command line the flag set refused: it has printed the
// usage already.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// parse makes the named experiment's flag set and parses args with it;
// the usage and what is wrong go to w.
func parse(name string, args []string, w io.Writer) (experiment, error) {
	fs := flag.NewFlagSet("bench "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	var e experiment
	for _, x := range experiments {
		if x.name == name && x.make != nil {
			e = x.make(fs)
		}
	}
	fs.Usage = func() { usage(fs.Output(), name, fs) }
	if e == nil {
		usage(w, "", nil)
		return nil, usageError{fmt.Errorf("no experiment %q", name)}
	}
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, usageError{fmt.Errorf("%s: arguments left over: %q", name, fs.Args())}
	}
	if err := errors.Join(e.options().check(), e.check()); err != nil {
		fmt.Fprintf(fs.Output(), "bench %s: %v\n", name, err)
		fs.Usage()
		return nil, usageError{err}
	}
	return e, nil
}

// usage lists the experiments, and the flags of the one named.
func usage(w io.Writer, name string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: go run ./bench EXPERIMENT [flags]   (docs/bench.md)\n\n")
	for _, e := range experiments {
		fmt.Fprintf(w, "  %-7s %s\n", e.name, e.what)
	}
	if fs != nil {
		fmt.Fprintf(w, "\nbench %s's flags:\n", name)
		fs.PrintDefaults()
	}
}
