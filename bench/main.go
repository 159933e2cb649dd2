// Command bench measures sandbox-init against the sandbox how-to's shell
// recipe (issue #5), booting both in QEMU (TCG) with the same kernel and CD:
//
//	go run ./bench [-n 5] [-md]   boot time, initramfs size, memory, our phases
//	go run ./bench -io [-n 3]     sandbox write throughput and RAM cost per chunk size
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
	flagN       = flag.Int("n", 5, "boots per variant (the variants alternate, so noise hits both alike)")
	flagIO      = flag.Bool("io", false, "measure sandbox write throughput per chunk size (-chunks) and raw brd instead of boot time")
	flagChunks  = flag.String("chunks", "1,8,16,32", "chunk sizes in sectors for -io")
	flagStores  = flag.String("stores", "PO", "snapshot stores for -io (sandbox.store): PO, N or PO,N")
	flagMiB     = flag.Int("mib", 64, "MiB written by each dd in -io mode")
	flagMD      = flag.Bool("md", false, "print the tables as Markdown")
	flagTimeout = flag.Duration("timeout", 90*time.Second, "limit for one QEMU boot")
	flagKeep    = flag.Bool("keep", false, "keep the work directory (images and every console log)")
	flagKernel  = flag.String("kernel", testvm.Cloud12, "the kernel of the cache to boot: "+strings.Join(testvm.Kernels, ", ")+" ($SANDBOX_KERNEL_ROOT, a kernel tree, overrides it)")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./bench [-n N] [-io] [-md] [-mib M] [-kernel NAME] [-timeout D] [-keep]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *flagN < 1 || *flagMiB < 1 || !slices.Contains(testvm.Kernels, *flagKernel) {
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
	if *flagIO {
		tables, err = benchIO(img)
	} else {
		tables, err = benchBoot(img)
	}
	if err != nil {
		return err
	}
	// TCG timings move with whatever else the host runs: say how busy it was.
	tables[0].notes = append(tables[0].notes, fmt.Sprintf("Host: %d CPUs, load average %s at the first boot, %s after the last; QEMU TCG, -m 512, -smp 1, kernel %s.",
		runtime.NumCPU(), load0, loadavg(), img.kernel.Version))
	for _, t := range tables {
		if *flagMD {
			fmt.Print(t.markdown())
		} else {
			fmt.Print(t.text())
		}
		fmt.Println()
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
