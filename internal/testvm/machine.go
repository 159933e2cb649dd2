package testvm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	"github.com/hugelgupf/vmtest/qemu"
)

// Machine is one boot.
type Machine struct {
	Name      string   // labels the logged console lines and errors; Boot: the test's name
	Kernel    string   // vmlinuz for a direct kernel boot; "" boots the firmware (the drives' boot loader)
	Initramfs string   // with Kernel
	Append    []string // the kernel command line, with Kernel
	Drives    []Drive
	Nets      []Net    // network cards; none when empty
	QEMU      []string // more QEMU arguments
	MemoryMiB int      // default 512
	// SecureBoot boots UEFI firmware (OVMF) that enforces Secure Boot
	// with the keys PCs ship with (Microsoft's) on a q35 machine (its
	// CD drive is on AHCI), with no network card (no network boot to wait
	// for when the drives' loaders are refused). The firmware's variables
	// are a copy, written by the machine and thrown away.
	SecureBoot bool
	// Vars, with SecureBoot, is the firmware's variable store to use
	// as it is (the machine writes to it), instead of a copy of
	// Microsoft's keys.
	Vars    string
	Timeout time.Duration
	// Screen, when set, is serial console text at which the screen is
	// read (Console.Screen) and the machine is stopped: for boots that
	// halt rather than power off, or that must be looked at mid-way.
	Screen string
	// Session, when set, runs while the machine is up: it may type on the
	// serial console or the keyboard and read the screen.
	Session func(*Session)
	// Line, when set, sees each serial console line as it arrives, with
	// the QEMU process: to measure the host side at a point of the boot.
	Line func(line string, p *Process)
}

// Session is a running machine, for Machine.Session.
type Session struct {
	T        testing.TB // the test under Boot; nil under Run
	*Process            // QEMU
	vm       *qemu.VM
	monitor  string
	timeout  time.Duration
	stopped  bool
}

// Expect waits until the serial console shows text.
func (s *Session) Expect(text string) error {
	_, err := s.vm.Console.Expect(expect.String(text), expect.WithTimeout(s.timeout))
	return err
}

// SendLine types a line on the serial console.
func (s *Session) SendLine(line string) { _, _ = s.vm.Console.SendLine(line) }

// Screen reads the VGA text screen.
func (s *Session) Screen() (string, error) { return ScreenText(s.monitor) }

// Monitor runs a QEMU human-monitor command ("eject ide1-cd0"); a command
// that prints anything (QEMU's way of saying no) is an error.
func (s *Session) Monitor(cmd string) error {
	m, err := dialMonitor(s.monitor, 10*time.Second)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.run(cmd)
	return err
}

// Stop ends the machine now.
func (s *Session) Stop() {
	s.stopped = true
	_ = s.vm.Kill()
}

// Boot starts the machine and returns what it showed once it is gone. The
// guest powers itself off, or Machine.Screen stops it.
func Boot(t testing.TB, m Machine) Console {
	t.Helper()
	if m.Name == "" {
		m.Name = t.Name()
	}
	c, exit, err := boot(m, t.TempDir(), t, t.Logf, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	if exit != nil {
		t.Logf("VM exited with %v", exit)
	}
	return c
}

// Run is Boot outside of a test: it returns what the machine showed once
// it is gone, and an error when QEMU could not start, failed, or was not
// gone by Machine.Timeout (which Boot only logs). logf, when not nil, gets
// the console's lines as they come and QEMU's command line at the end.
func Run(m Machine, logf func(string, ...any)) (Console, error) {
	if m.Name == "" {
		m.Name = "vm"
	}
	dir, err := os.MkdirTemp("", "testvm-")
	if err != nil {
		return Console{}, err
	}
	defer os.RemoveAll(dir)
	var errs []error
	c, exit, err := boot(m, dir, nil, logf, func(err error) { errs = append(errs, err) })
	if err != nil {
		return c, err
	}
	return c, errors.Join(append(errs, exit)...)
}

// boot runs the machine with its sockets in dir. err is a failure to
// start; exit is QEMU's failure when nothing stopped it on purpose; fail
// gets what went wrong on the way (the screen not reached).
func boot(m Machine, dir string, t testing.TB, logf func(string, ...any), fail func(error)) (c Console, exit, err error) {
	if m.Timeout == 0 {
		m.Timeout = 90 * time.Second
	}
	if m.MemoryMiB == 0 {
		m.MemoryMiB = 512
	}
	s := &Session{T: t, Process: &Process{pidfile: filepath.Join(dir, "qemu.pid")},
		monitor: filepath.Join(dir, "monitor.sock"), timeout: m.Timeout}
	switch {
	case m.SecureBoot && m.Vars != "":
		m.QEMU = append(SecureBootFirmwareVars(m.Vars), m.QEMU...)
	case m.SecureBoot:
		fw, err := SecureBootFirmware(dir)
		if err != nil {
			return c, nil, err
		}
		m.QEMU = append(fw, m.QEMU...)
	}
	var out syncBuffer
	fns, err := m.options(s, &out, logf)
	if err != nil {
		return c, nil, err
	}
	start := time.Now()
	if s.vm, err = qemu.Start(qemu.ArchAMD64, fns...); err != nil {
		return c, nil, fmt.Errorf("starting QEMU for %s: %w", m.Name, err)
	}
	if m.Screen != "" {
		c.Screen = s.screenAt(m.Screen, fail)
	}
	if m.Session != nil {
		m.Session(s)
	}
	werr := s.vm.Wait()
	c.Text = out.String()
	if logf != nil {
		logf("QEMU command line to reproduce %s:\n%s", m.Name, s.vm.CmdlineQuoted())
	}
	switch {
	case werr == nil || s.stopped || c.Contains("reboot: Power down"):
		return c, nil, nil
	case time.Since(start) >= m.Timeout:
		return c, fmt.Errorf("%s: not gone after %v (%w)", m.Name, m.Timeout, werr), nil
	}
	return c, fmt.Errorf("%s: QEMU: %w", m.Name, werr), nil
}

// options are the machine's QEMU options, its monitor and pid file s's.
func (m Machine) options(s *Session, out *syncBuffer, logf func(string, ...any)) ([]qemu.Fn, error) {
	fns := []qemu.Fn{
		qemu.WithQEMUCommand(fmt.Sprintf("qemu-system-x86_64 -m %d -no-reboot -smp 1", m.MemoryMiB)),
		qemu.WithVMTimeout(m.Timeout),
		qemu.WithSerialOutput(out),
	}
	var args []string
	for i, d := range m.Drives {
		a, err := d.args(i)
		if err != nil {
			return nil, err
		}
		args = append(args, a...)
	}
	for i, n := range m.Nets {
		args = append(args, n.args(i)...)
	}
	args = append(args, "-monitor", "unix:"+s.monitor+",server,nowait", "-pidfile", s.pidfile)
	fns = append(fns, qemu.ArbitraryArgs(append(args, m.QEMU...)...))
	if m.Kernel != "" {
		fns = append(fns, qemu.WithKernel(m.Kernel), qemu.WithInitramfs(m.Initramfs), qemu.WithAppendKernel(m.Append...))
	}
	if logf != nil {
		fns = append(fns, qemu.LogSerialByLine(qemu.DefaultPrint(m.Name, logf)))
	}
	if m.Line != nil {
		fns = append(fns, qemu.LogSerialByLine(func(line string) { m.Line(line, s.Process) }))
	}
	return fns, nil
}

// screenAt waits for text on the serial console, reads the screen and
// stops the machine.
func (s *Session) screenAt(text string, fail func(error)) string {
	defer s.Stop()
	if err := s.Expect(text); err != nil {
		fail(fmt.Errorf("the console never showed %q: %w", text, err))
		return ""
	}
	// Freeze the guest, read, and go on a little only while the screen has
	// not caught up with the serial port: a fixed wait let the boot run on
	// and scroll the line off the 25 rows (more so since the init's
	// progress lines no longer hold the boot while a console takes them).
	var scr string
	for deadline := time.Now().Add(2 * time.Second); ; {
		if err := s.Monitor("stop"); err != nil {
			fail(fmt.Errorf("pausing the machine to read its screen: %w", err))
			return ""
		}
		var err error
		if scr, err = s.Screen(); err != nil {
			fail(fmt.Errorf("reading the screen: %w", err))
			return ""
		}
		if onScreen(scr, text) || time.Now().After(deadline) {
			return scr
		}
		if err := s.Monitor("cont"); err != nil {
			fail(fmt.Errorf("resuming the machine: %w", err))
			return scr
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onScreen tells whether text is on the screen scr, whose rows wrap a line
// at 80 columns (and lose a space at the wrap): spaces are not compared.
func onScreen(scr, text string) bool {
	squeeze := strings.NewReplacer("\n", "", " ", "")
	return strings.Contains(squeeze.Replace(scr), squeeze.Replace(text))
}
