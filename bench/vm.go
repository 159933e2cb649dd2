package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/state"
)

// console is what one boot printed on its serial port, plus what the host
// saw of the QEMU process.
type console struct {
	testvm.Console
	hwm uint64 // QEMU's peak RSS (VmHWM), bytes, when the real init's first line arrived
}

// baseCmdline is every boot's kernel command line. loglevel=7 lets the
// KERN_INFO "Run /init as init process" line reach the console; panic=-1
// and sandbox.onfail=poweroff end a failed boot at once instead of at the
// timeout. The recipe ignores the sandbox.* words, and both variants get
// the same line so the kernel's own work is the same.
var baseCmdline = []string{"console=ttyS0", "loglevel=7", "panic=-1",
	"sandbox.onfail=poweroff", fmt.Sprintf("sandbox.cowsize=%dM", rdSizeKiB>>10)}

// boot runs one QEMU (TCG: KVM does not work on these machines) with the
// kernel, an initramfs and the CD on IDE, and returns the console once the
// guest has powered off. name labels the saved console log in the work dir.
func (img *images) boot(name, initrd string, extra ...string) (console, error) {
	return img.bootWith(bootSpec{name: name, initrd: initrd, cd: img.CD,
		cmdline: append(append([]string{}, baseCmdline...), extra...)})
}

// bootSpec is one boot's machine: a direct kernel boot of img.kernel with
// an initramfs, the command line, and a CD on IDE.
type bootSpec struct {
	name, initrd, cd string
	cmdline          []string
	memMiB           int // 0: testvm's default (512)
}

// bootWith is boot with the CD, the whole command line and the RAM given.
func (img *images) bootWith(b bootSpec) (console, error) {
	var c console
	name := b.name
	m := testvm.Machine{
		Name:   name,
		Kernel: img.kernel.Vmlinuz(), Initramfs: b.initrd,
		Append:    b.cmdline,
		Drives:    []testvm.Drive{{File: b.cd, Bus: testvm.IDE, CD: true}},
		MemoryMiB: b.memMiB,
		Timeout:   img.timeout,
		QEMU:      img.qemu,
		// Sample QEMU's memory high-water mark right when the real init
		// starts: the guest's pages QEMU has had to back until then.
		Line: func(line string, p *testvm.Process) {
			if c.hwm == 0 && strings.Contains(line, testvm.RealInitLine) {
				c.hwm, _ = p.PeakRSS()
			}
		},
	}
	var err error
	c.Console, err = testvm.Run(m, nil)
	c.Text = strings.ReplaceAll(c.Text, "\r", "")
	_ = os.WriteFile(filepath.Join(img.Dir, name+".console"), []byte(c.Text), 0o644)
	if err != nil {
		return c, fmt.Errorf("%w%s", err, c.tail())
	}
	return c, nil
}

// tail is the end of the console, for error messages.
func (c console) tail() string {
	lines := strings.Split(strings.TrimRight(c.Text, "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return "\n--- console tail ---\n" + strings.Join(lines, "\n") + "\n---"
}

// mustStamp is KernelStamp with an error that shows the console.
func (c console) mustStamp(name, re string) (float64, error) {
	t, ok := c.KernelStamp(re)
	if !ok {
		return 0, fmt.Errorf("%s: no kernel-stamped line matching %q on the console%s", name, re, c.tail())
	}
	return t, nil
}

// value is the value of the guest's "BENCH key=value" line.
func (c console) value(key string) (string, bool) { return c.Value("BENCH", key) }

// sandboxState decodes the guest's /run/sandbox/state.json ("BENCH state=").
func (c console) sandboxState(name string) (state.State, error) {
	js, ok := c.value("state")
	if !ok {
		return state.State{}, fmt.Errorf("%s: our init's real init printed no /run/sandbox/state.json%s", name, c.tail())
	}
	st, err := state.Parse([]byte(js))
	if err != nil {
		return st, fmt.Errorf("%s: state.json: %v: %s", name, err, js)
	}
	return st, nil
}

// checkTable checks that the snapshot's table in state.json ends with the
// store and chunk asked for ("... snapshot ORIGIN COW PO 8").
func checkTable(name string, c console, store string, chunk int) error {
	st, err := c.sandboxState(name)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(st.Table, fmt.Sprintf(" %s %d", store, chunk)) {
		return fmt.Errorf("%s: the snapshot table in state.json does not have store %s, chunk %d: %s", name, store, chunk, st.Table)
	}
	return nil
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
