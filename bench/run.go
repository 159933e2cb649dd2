package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// runOne runs the named experiment with its arguments and prints its
// tables, then its ratio lines, on out. ratios, if not nil, gathers the
// ratio lines too (for all).
func runOne(name string, args []string, out io.Writer, ratios *[]string) error {
	e, err := parse(name, args, os.Stderr)
	if err != nil {
		return err
	}
	o, p := e.options(), e.plan()
	repo, work, cleanup, err := workDir(o.keep)
	if err != nil {
		return err
	}
	defer cleanup()
	img, err := build(repo, work, o, p)
	if err != nil {
		return err
	}
	load0 := loadavg()
	tables, last, err := e.run(repo, img)
	if err != nil {
		return err
	}
	// TCG timings move with whatever else the host runs: say how busy it
	// was. The prose on how to read the tables is in docs/bench.md.
	tables[0].notes = append(tables[0].notes,
		fmt.Sprintf("How it is measured and how to read it: docs/bench.md#%s.", name),
		fmt.Sprintf("Host: %d CPUs, load average %s at the start, %s after the last; QEMU TCG%s, -m %d, -smp 1, kernel %s.",
			runtime.NumCPU(), load0, loadavg(), strings.TrimRight(" "+strings.Join(img.qemu, " "), " "), p.memMiB, img.kernel.Version))
	for _, t := range tables {
		if o.md {
			fmt.Fprint(out, t.markdown())
		} else {
			fmt.Fprint(out, t.text())
		}
		fmt.Fprintln(out)
	}
	for _, l := range last {
		fmt.Fprintln(out, l)
	}
	if ratios != nil {
		*ratios = append(*ratios, last...)
	}
	return nil
}

// workDir is the repository and a new work directory, and what removes
// it unless kept.
func workDir(keep bool) (repo, work string, cleanup func(), err error) {
	if repo, err = testvm.RepoRoot(); err != nil {
		return "", "", nil, err
	}
	if work, err = os.MkdirTemp("", "sandbox-bench-"); err != nil {
		return "", "", nil, err
	}
	if keep {
		logf("work directory (kept): %s", work)
		return repo, work, func() {}, nil
	}
	return repo, work, func() { os.RemoveAll(work) }, nil
}

// section is one experiment of all, with its arguments in the full and
// in the quick run.
type section struct {
	name        string
	full, quick []string
}

// allSections are issue #15's benchmark: the boot against the recipe with
// the timeline picture, the sandbox at work, the whole system, and
// dm-verity's cost. -quick takes fewer boots and variants.
var allSections = []section{
	{"boot", []string{"-n", "5", "-svg", "docs/boot-timeline.svg"}, []string{"-n", "3", "-svg", "docs/boot-timeline.svg"}},
	{"work", []string{"-n", "3"}, []string{"-n", "1", "-chunks", "8", "-stores", "PO"}},
	{"system", []string{"-n", "3"}, []string{"-quick"}},
	{"verity", []string{"-n", "5"}, []string{"-n", "2"}},
}

// allRun is one experiment's run under all.
type allRun struct {
	name string
	args []string
}

// allRuns are the sections' command lines under all: each one's own
// arguments, -md, and what all was given beyond -quick (-kernel,
// -timeout, -keep...).
func allRuns(args []string) []allRun {
	quick := false
	var rest []string
	for _, a := range args {
		if a == "-quick" || a == "--quick" {
			quick = true
			continue
		}
		rest = append(rest, a)
	}
	var runs []allRun
	for _, s := range allSections {
		own := s.full
		if quick {
			own = s.quick
		}
		runs = append(runs, allRun{s.name, append(append(slices.Clone(own), "-md"), rest...)})
	}
	return runs
}

// runAll runs allSections in turn, as Markdown, and repeats every
// section's ratio lines at the end for scripts.
func runAll(args []string, out io.Writer) error {
	var ratios []string
	for _, r := range allRuns(args) {
		logf("all: bench %s %s", r.name, strings.Join(r.args, " "))
		if err := runOne(r.name, r.args, out, &ratios); err != nil {
			return fmt.Errorf("all, %s: %w", r.name, err)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "## All ratios\n\n%s\n", strings.Join(ratios, "\n"))
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
