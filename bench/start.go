package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/sandbox-init/sandbox-init/mklive"
)

// bench start (issue 24): what an init costs before it does anything, and
// what it weighs. Three /init programs, each alone in an initramfs of
// mklive's (no modules, zstd), boot alternately -n times with the same
// kernel and do the same first thing: mount /proc, /sys, /dev (devtmpfs)
// and /run, then write a line to the kernel's log. The busybox script is
// the recipe's way; the Go program is the runtime's own start and nothing
// else; ours is the CD's init (-tags nonet), stopped by an unknown
// sandbox.* word right after its "started" line. Run /init → that line is
// the exec, the runtime's start, the package inits and the mounts. Then a
// table of sizes: each build of the init, and mklive's initramfs of each
// for every kernel of the cache.
const startLine = "bench-start: up"

// startScript is the busybox /init: the recipe's mounts, the line, off.
const startScript = `#!/bin/sh
/bin/busybox mkdir -p /proc /sys /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /run
echo "` + startLine + `" > /dev/kmsg
/bin/busybox poweroff -f
`

// startGo is the Go /init: the same, with the syscall package alone.
const startGo = `package main

import "syscall"

func main() {
	for _, m := range [][3]string{{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"}, {"tmpfs", "/run", "tmpfs"}} {
		syscall.Mkdir(m[1], 0o755)
		syscall.Mount(m[0], m[1], m[2], 0, "")
	}
	if fd, err := syscall.Open("/dev/kmsg", syscall.O_WRONLY, 0); err == nil {
		syscall.Write(fd, []byte("` + startLine + `\n"))
	}
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}
`

// startStop is the word that ends our init's boot at its configuration,
// right after the line we time: sandbox.onfail=poweroff then ends the VM.
const startStop = "sandbox.bench-stop=1"

// startOpts are bench start's options: common's alone (their check is
// common's, promoted).
type startOpts struct{ common }

func newStart(fs *flag.FlagSet) experiment {
	o := &startOpts{}
	o.register(fs, 5, 60*time.Second)
	return o
}

// plan: the test root is built for every experiment; start boots without it.
func (o *startOpts) plan() plan { return plan{rootMiB: 64, memMiB: 512} }

// startVariant is one /init under test: its initramfs and the kernel log
// line it is timed to.
type startVariant struct {
	name, initrd, line string
	size               int64
	v                  *variant
}

// run builds the three initramfs, boots them, then measures the sizes.
func (o *startOpts) run(repo string, img *images) ([]table, []string, error) {
	vs, err := startVariants(repo, img)
	if err != nil {
		return nil, nil, err
	}
	for i := 1; i <= o.n; i++ {
		for _, s := range vs {
			name := fmt.Sprintf("start-%s-%d", s.name, i)
			c, err := img.bootWith(bootSpec{name: name, initrd: s.initrd, cd: img.CD, // there, unused: the machine of bench boot
				cmdline: append(append([]string{}, baseCmdline...), startStop)})
			if err != nil {
				return nil, nil, err
			}
			tRun, err := c.mustStamp(name, reRunInit)
			if err != nil {
				return nil, nil, err
			}
			tUp, err := c.mustStamp(name, s.line)
			if err != nil {
				return nil, nil, err
			}
			s.v.add("runinit", tRun)
			s.v.add("up", (tUp-tRun)*1000)
			logf("boot %d/%d %-8s Run /init at %.3f s, up %.1f ms later", i, o.n, s.name, tRun, (tUp-tRun)*1000)
		}
	}
	sizes, err := sizeTable(repo, img.Dir)
	if err != nil {
		return nil, nil, err
	}
	lines := []string{ratioLineMedians("start", "busybox", vs[2].v.samples["up"], vs[0].v.samples["up"]),
		ratioLineMedians("start", "go", vs[2].v.samples["up"], vs[1].v.samples["up"])}
	return []table{startTable(img, o.n, vs), sizes}, lines, nil
}

// startVariants builds the busybox, Go and our initramfs.
func startVariants(repo string, img *images) ([]*startVariant, error) {
	dir := filepath.Join(img.Dir, "start")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "init.sh")
	if err := os.WriteFile(script, []byte(startScript), 0o755); err != nil {
		return nil, err
	}
	hello, err := buildStartGo(dir)
	if err != nil {
		return nil, err
	}
	ours := filepath.Join(dir, "sandbox-init-nonet")
	if err := mklive.BuildInit(repo, ours, mklive.NoNetTag); err != nil {
		return nil, err
	}
	vs := []*startVariant{
		{name: "busybox", line: startLine},
		{name: "go", line: startLine},
		{name: "ours", line: `sandbox-init: started`},
	}
	for i, init := range []string{script, hello, ours} {
		spec := mklive.InitramfsSpec{Init: init, Kernel: img.kernel, Out: filepath.Join(dir, vs[i].name+".img")}
		if i == 0 {
			spec.Shell = mklive.BusyboxBinary
		}
		rep, err := mklive.BuildInitramfs(spec)
		if err != nil {
			return nil, fmt.Errorf("start's %s initramfs: %w", vs[i].name, err)
		}
		vs[i].initrd, vs[i].size = rep.Path, rep.Compressed
		vs[i].v = &variant{name: vs[i].name, samples: map[string][]float64{}}
	}
	return vs, nil
}

// buildStartGo builds startGo as mklive builds our init: static,
// -trimpath, -s -w.
func buildStartGo(dir string) (string, error) {
	src := filepath.Join(dir, "gostart")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module gostart\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(startGo), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gostart.bin")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of the Go /init: %w\n%s", err, b)
	}
	return out, nil
}

// startTable is the boots' table: each /init's initramfs, when the kernel
// ran it, and how long it took to its line.
func startTable(img *images, n int, vs []*startVariant) table {
	t := table{
		title: fmt.Sprintf("Start: Run /init → the first line after the API mounts (%d boots each, alternating, %s; median (min–max))", n, img.kernel.Version),
		head:  []string{"/init", "initramfs (bytes)", "kernel start → Run /init (s)", "Run /init → up (ms)"},
	}
	for _, s := range vs {
		t.rows = append(t.rows, []string{s.name, fmt.Sprint(s.size), cell(s.v.samples["runinit"], "%.3f"), cell(s.v.samples["up"], "%.1f")})
	}
	t.notes = []string{
		"busybox: the recipe's sh script; go: a static Go program that only mounts and writes (the Go runtime's start); ours: the CD's init (-tags nonet) to its \"started\" line (exec, runtime, package inits, mounts).",
		"Under TCG most of a program's start is QEMU translating code it runs for the first time; under -icount that is not counted (docs/bench.md).",
	}
	if len(img.qemu) > 0 {
		t.notes = append(t.notes, "QEMU "+fmt.Sprint(img.qemu)+": virtual time.")
	}
	return t
}

func (o *startOpts) options() *common { return &o.common }
