// Command bench measures sandbox-init against the sandbox how-to's shell
// recipe (issue #5), booting both in QEMU (TCG) with the same kernel and CD:
//
//	go run ./bench [-n 5] [-md]   boot time, initramfs size, memory, our phases
//	go run ./bench -io [-n 3]     sandbox write throughput and RAM cost per chunk size
//	go run ./bench -media [-debian] Live media: plain ext2 vs zstd container vs toram (issue #13)
//	go run ./bench -verity        dm-verity's cost: init cost and read throughput (issue #14)
//	go run ./bench -system [-quick] the whole Debian system on emulated DVD/USB media: ours vs recipe vs dracut (issue #15)
//	go run ./bench -work [-n 3]   the sandbox at work: dd, small files, tree copy vs ext4 on brd and overlayfs on tmpfs
//
// It boots Debian 12's cloud kernel from scripts/setup.sh's cache (-kernel
// picks another), through internal/testvm, which builds the test root and
// the CD the VM tests use too. It only runs host tools (go, mke2fs,
// xorriso, cpio, gzip, apt-get, dpkg, qemu-system-x86_64);
// scripts/bench.sh installs them first.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

var (
	flagN           = flag.Int("n", 5, "boots per variant (the variants alternate, so noise hits both alike)")
	flagIO          = flag.Bool("io", false, "measure sandbox write throughput per chunk size (-chunks) and raw brd instead of boot time")
	flagChunks      = flag.String("chunks", "1,8,16,32", "chunk sizes in sectors for -io")
	flagStores      = flag.String("stores", "PO", "snapshot stores for -io (sandbox.store): PO, N or PO,N")
	flagMiB         = flag.Int("mib", 64, "MiB written by each dd in -io mode")
	flagMedia       = flag.Bool("media", false, "compare Live media instead: the test root as a plain ext2 image, in a zstd container, and that container with sandbox.toram=yes (build time, ISO size, boot time, free space in /)")
	flagDebian      = flag.Bool("debian", false, "with -media: also build ISOs of scripts/setup.sh's Debian root with each -container, and mksquashfs of the tree, -n times each (a few minutes)")
	flagVerity      = flag.Bool("verity", false, "measure dm-verity's cost instead: the same Live CD with and without verity, plain and in a container (init cost, first read of a 48 MiB file, ISO size)")
	flagMD          = flag.Bool("md", false, "print the tables as Markdown")
	flagTimeout     = flag.Duration("timeout", 90*time.Second, "limit for one QEMU boot")
	flagKeep        = flag.Bool("keep", false, "keep the work directory (images and every console log)")
	flagSystem      = flag.Bool("system", false, "boot scripts/setup.sh's Debian root with systemd to multi-user.target from throttled media (-sysmedia): ours in each mode, the how-to's recipe and dracut's dmsquash-live (needs scripts/setup.sh --bench)")
	flagQuick       = flag.Bool("quick", false, "with -system: the DVD medium only, ours, recipe and dracut, at most 2 boots each (about 15 minutes)")
	flagSysMedia    = flag.String("sysmedia", "dvd,usb2,usb3,none", "media for -system: dvd, usb2, usb3, none (unthrottled)")
	flagSysVariants = flag.String("sysvariants", "ours,ours-plain,ours-N,ours-toram,recipe,dracut", "variants for -system: ours (the LiveOS zstd container), ours-plain, ours-N, ours-toram, recipe, dracut")
	flagSysKernel   = flag.String("syskernel", testvm.Std12, "the kernel of the cache -system boots (dracut's build root is made for deb12)")
	flagKernel      = flag.String("kernel", testvm.Cloud12, "the kernel of the cache to boot: "+strings.Join(testvm.Kernels, ", ")+" ($SANDBOX_KERNEL_ROOT, a kernel tree, overrides it)")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./bench [-n N] [-io | -media [-debian] | -verity | -system [-quick] [-sysmedia M,...] [-sysvariants V,...] | -work] [-svg FILE] [-md] [-mib M] [-kernel NAME] [-timeout D] [-keep]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *flagN < 1 || *flagMiB < 1 || !slices.Contains(testvm.Kernels, *flagKernel) ||
		(*flagDebian && !*flagMedia) || (*flagIO && *flagMedia) ||
		(*flagQuick && !*flagSystem) || (*flagSystem && (*flagIO || *flagMedia)) ||
		(*flagVerity && (*flagIO || *flagMedia || *flagSystem)) ||
		(*flagWork && (*flagIO || *flagMedia || *flagSystem || *flagVerity)) {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	repo, err := testvm.RepoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "sandbox-bench-")
	if err != nil {
		return err
	}
	if *flagKeep {
		logf("work directory (kept): %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	img, err := build(repo, work)
	if err != nil {
		return err
	}
	load0 := loadavg()
	var tables []table
	var last []string // lines printed after the tables, for scripts
	mem := 512
	switch {
	case *flagIO:
		tables, err = benchIO(img)
	case *flagSystem:
		mem = systemMemMiB
		tables, last, err = benchSystem(repo, img)
	case *flagMedia:
		mem = mediaMemMiB
		tables, last, err = benchMedia(repo, img)
	case *flagVerity:
		mem = mediaMemMiB
		tables, last, err = benchVerity(img)
	case *flagWork:
		mem = workMemMiB
		tables, last, err = benchWork(repo, img)
	default:
		tables, last, err = benchBoot(img)
	}
	if err != nil {
		return err
	}
	// TCG timings move with whatever else the host runs: say how busy it was.
	tables[0].notes = append(tables[0].notes, fmt.Sprintf("Host: %d CPUs, load average %s at the start, %s after the last; QEMU TCG, -m %d, -smp 1, kernel %s.",
		runtime.NumCPU(), load0, loadavg(), mem, img.kernel.Version))
	for _, t := range tables {
		if *flagMD {
			fmt.Print(t.markdown())
		} else {
			fmt.Print(t.text())
		}
		fmt.Println()
	}
	for _, l := range last {
		fmt.Println(l)
	}
	return nil
}

// loadavg is the host's 1-minute load average.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// logf reports progress on stderr, keeping stdout for the tables.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
