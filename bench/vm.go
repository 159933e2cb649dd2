package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// console is what one boot printed on its serial port, plus what the host
// saw of the QEMU process.
type console struct {
	text   string
	hwmKiB int64 // QEMU's peak RSS (VmHWM) when the real init's first line arrived
}

// baseCmdline is every boot's kernel command line. loglevel=7 lets the
// KERN_INFO "Run /init as init process" line reach the console; panic=-1
// and sandbox.onfail=poweroff end a failed boot at once instead of at the
// timeout. The recipe ignores the sandbox.* words, and both variants get
// the same line so the kernel's own work is the same.
var baseCmdline = []string{"console=ttyS0", "loglevel=7", "panic=-1",
	"sandbox.onfail=poweroff", fmt.Sprintf("sandbox.cowsize=%dM", rdSizeKiB>>10)}

// boot runs one QEMU (TCG: KVM does not work on these machines) with the
// kernel, an initramfs and the CD, and returns the console once the guest
// has powered off. name labels the saved console log in the work dir.
func (img *images) boot(name, initrd string, extra ...string) (console, error) {
	ctx, cancel := context.WithTimeout(context.Background(), *flagTimeout)
	defer cancel()
	cmdline := strings.Join(append(append([]string{}, baseCmdline...), extra...), " ")
	args := []string{"-m", "512", "-no-reboot", "-smp", "1", "-nographic",
		"-cdrom", img.iso, "-kernel", img.kernel.Vmlinuz(), "-initrd", initrd, "-append", cmdline}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return console{}, err
	}
	if err := cmd.Start(); err != nil {
		return console{}, err
	}
	var c console
	var text strings.Builder
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		text.WriteString(strings.ReplaceAll(line, "\r", ""))
		// Sample QEMU's memory high-water mark right when the real init
		// starts: the guest's pages QEMU has had to back until then.
		if c.hwmKiB == 0 && strings.Contains(line, "realinit: first line") {
			c.hwmKiB = vmHWM(cmd.Process.Pid)
		}
		if err != nil {
			break
		}
	}
	werr := cmd.Wait()
	c.text = text.String()
	_ = os.WriteFile(filepath.Join(img.dir, name+".console"), []byte(c.text), 0o644)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return c, fmt.Errorf("%s: no power-off after %v%s", name, *flagTimeout, c.tail())
	case werr != nil:
		return c, fmt.Errorf("%s: qemu: %v %s%s", name, werr, strings.TrimSpace(stderr.String()), c.tail())
	}
	return c, nil
}

func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// tail is the end of the console, for error messages.
func (c console) tail() string {
	lines := strings.Split(strings.TrimRight(c.text, "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return "\n--- console tail ---\n" + strings.Join(lines, "\n") + "\n---"
}

// stamp is the kernel timestamp, in seconds, of the first console line
// whose message matches re.
func (c console) stamp(re string) (float64, bool) {
	m := regexp.MustCompile(`(?m)^\[\s*(\d+\.\d+)\] ` + re).FindStringSubmatch(c.text)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	return f, err == nil
}

// mustStamp is stamp with an error that shows the console.
func (c console) mustStamp(name, re string) (float64, error) {
	t, ok := c.stamp(re)
	if !ok {
		return 0, fmt.Errorf("%s: no kernel-stamped line matching %q on the console%s", name, re, c.tail())
	}
	return t, nil
}

// value is the value of the guest's "BENCH key=value" line.
func (c console) value(key string) (string, bool) {
	m := regexp.MustCompile(`(?m)^BENCH ` + regexp.QuoteMeta(key) + `=(.*)$`).FindStringSubmatch(c.text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// meminfo reads a field (kB) of the guest's "BENCH mem=" line.
func (c console) meminfo(field string) (float64, bool) {
	v, _ := c.value("mem")
	for _, f := range strings.Fields(v) {
		if n, ok := strings.CutPrefix(f, field+":"); ok {
			x, err := strconv.ParseFloat(n, 64)
			return x, err == nil
		}
	}
	return 0, false
}
