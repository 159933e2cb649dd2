// Package hostcmd runs the host's programs for mklive, the VM tests'
// harness and the benchmark: a missing one is named with the Debian
// package that has it, a failing one with its output, and a long one says
// how far it is.
package hostcmd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
)

// tools maps each external program to the Debian package that provides it,
// so a missing one is reported with the fix.
var tools = map[string]string{
	"mke2fs":               "e2fsprogs",
	"dumpe2fs":             "e2fsprogs",
	"debugfs":              "e2fsprogs",
	"mksquashfs":           "squashfs-tools",
	"unsquashfs":           "squashfs-tools",
	"depmod":               "kmod",
	"xorriso":              "xorriso",
	"grub-mkstandalone":    "grub-efi-amd64-bin (with grub-common)",
	"mformat":              "mtools",
	"mmd":                  "mtools",
	"mcopy":                "mtools",
	"mtype":                "mtools",
	"mdir":                 "mtools",
	"go":                   "golang (or https://go.dev/dl)",
	"qemu-system-x86_64":   "qemu-system-x86",
	"objcopy":              "binutils",
	"sbsign":               "sbsigntool",
	"sbverify":             "sbsigntool",
	"openssl":              "openssl",
	"cert-to-efi-sig-list": "efitools",
	"sign-efi-sig-list":    "efitools",
}

// Need checks that an external program is installed, and returns its
// path. depmod and mke2fs live in /usr/sbin, which a Debian user's PATH
// lacks: it is searched too.
func Need(tool string) (string, error) {
	p, err := exec.LookPath(tool)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, tool)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed: install the Debian package %s (scripts/setup.sh does)", tool, tools[tool])
}

// command is the program found by Need, its output, standard and error
// both, into out.
func command(name string, args []string) (cmd *exec.Cmd, out *bytes.Buffer, err error) {
	p, err := Need(name)
	if err != nil {
		return nil, nil, err
	}
	cmd, out = exec.Command(p, args...), &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out, nil
}

// Run runs an external tool, its output kept for the error.
func Run(name string, args ...string) error {
	cmd, out, err := command(name, args)
	if err != nil {
		return err
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// progressEvery is how often a long step (mke2fs, mksquashfs, xorriso)
// says how far it is.
var progressEvery = 10 * time.Second

// RunProgress runs a long external step like Run, and every progressEvery
// logs a plain line saying how far it is: the share of total (the bytes
// the step reads: the tree, the image, the CD's files) the program has
// read so far and what it has written (/proc/PID/io), with the time
// taken. A reader ahead of a slow compressor waits, so the share read
// moves unevenly; what is written moves on.
func RunProgress(log func(format string, args ...any), what string, total uint64, name string, args ...string) error {
	cmd, out, err := command(name, args)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
			}
			return nil
		case <-tick.C:
			read, written, ok := ioCounts(cmd.Process.Pid)
			switch {
			case ok && total > 0:
				log("%s: %d%% read, %s written, %s so far", what, min(99, read*100/total), config.HumanBytes(written), Took(start))
			case ok:
				log("%s: %s written, %s so far", what, config.HumanBytes(written), Took(start))
			default:
				log("%s: %s so far", what, Took(start))
			}
		}
	}
}

// ioCounts is what a process has read and written so far (rchar and
// wchar in /proc/PID/io: read(2), write(2) and their kin, holes of sparse
// files included).
func ioCounts(pid int) (read, written uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, false
	}
	var seen int
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "rchar":
			read, seen = n, seen+1
		case "wchar":
			written, seen = n, seen+1
		}
	}
	return read, written, seen == 2
}

// Took is the time since start, for the build's log: "12.3 s".
func Took(start time.Time) string {
	return fmt.Sprintf("%.1f s", time.Since(start).Seconds())
}
