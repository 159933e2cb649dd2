package testvm

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	"github.com/hugelgupf/vmtest/qemu"
)

// Machine is one boot.
type Machine struct {
	Kernel    string   // vmlinuz for a direct kernel boot; "" boots the firmware (the drives' boot loader)
	Initramfs string   // with Kernel
	Append    []string // the kernel command line, with Kernel
	Drives    []Drive
	QEMU      []string // more QEMU arguments
	MemoryMiB int      // default 512
	Timeout   time.Duration
	// Screen, when set, is serial console text at which the screen is
	// read (Console.Screen) and the machine is stopped: for boots that
	// halt rather than power off, or that must be looked at mid-way.
	Screen string
	// Session, when set, runs while the machine is up: it may type on the
	// serial console or the keyboard and read the screen.
	Session func(*Session)
}

// Session is a running machine, for Machine.Session.
type Session struct {
	T       testing.TB
	vm      *qemu.VM
	monitor string
	timeout time.Duration
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

// Stop ends the machine now.
func (s *Session) Stop() { _ = s.vm.Kill() }

// Console is what a boot showed.
type Console struct {
	Text   string // the serial console
	Screen string // the VGA text screen when Machine.Screen was reached
}

// Boot starts the machine and returns what it showed once it is gone. The
// guest powers itself off, or Machine.Screen stops it.
func Boot(t testing.TB, m Machine) Console {
	t.Helper()
	if m.Timeout == 0 {
		m.Timeout = 90 * time.Second
	}
	if m.MemoryMiB == 0 {
		m.MemoryMiB = 512
	}
	var out syncBuffer
	fns := []qemu.Fn{
		qemu.WithQEMUCommand(fmt.Sprintf("qemu-system-x86_64 -m %d -no-reboot -smp 1", m.MemoryMiB)),
		qemu.WithVMTimeout(m.Timeout),
		qemu.WithSerialOutput(&out),
	}
	var args []string
	for i, d := range m.Drives {
		a, err := d.args(i)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, a...)
	}
	monitor := filepath.Join(t.TempDir(), "monitor.sock")
	args = append(args, "-monitor", "unix:"+monitor+",server,nowait")
	fns = append(fns, qemu.ArbitraryArgs(append(args, m.QEMU...)...))
	if m.Kernel != "" {
		fns = append(fns, qemu.WithKernel(m.Kernel), qemu.WithInitramfs(m.Initramfs), qemu.WithAppendKernel(m.Append...))
	}
	vm := qemu.StartT(t, t.Name(), qemu.ArchAMD64, fns...)
	s := &Session{T: t, vm: vm, monitor: monitor, timeout: m.Timeout}
	var c Console
	if m.Screen != "" {
		if err := s.Expect(m.Screen); err != nil {
			t.Errorf("the console never showed %q: %v", m.Screen, err)
		} else {
			time.Sleep(300 * time.Millisecond) // let the screen catch up with the serial port
			scr, err := s.Screen()
			if err != nil {
				t.Errorf("reading the screen: %v", err)
			}
			c.Screen = scr
		}
		s.Stop()
	}
	if m.Session != nil {
		m.Session(s)
	}
	err := vm.Wait()
	c.Text = out.String()
	if err != nil && m.Screen == "" && m.Session == nil && !strings.Contains(c.Text, "reboot: Power down") {
		t.Logf("VM exited with %v", err)
	}
	return c
}

// Value returns the value of the first "PREFIX key=value" line.
func (c Console) Value(prefix, key string) (string, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix+" "+key) + `=(.*?)\r?$`)
	m := re.FindStringSubmatch(c.Text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Contains reports whether the serial console showed s.
func (c Console) Contains(s string) bool { return strings.Contains(c.Text, s) }

// Count is how many times the serial console showed s.
func (c Console) Count(s string) int { return strings.Count(c.Text, s) }

// KernelStamp returns the kernel timestamp, in seconds, of the first
// console line matching re.
func (c Console) KernelStamp(re string) (float64, bool) {
	m := regexp.MustCompile(`\[\s*(\d+\.\d+)\] .*` + re).FindStringSubmatch(c.Text)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	return f, err == nil
}

// InitCost is the init's own cost: from the kernel's "Run /init" to the
// real init's first kmsg line ("realinit: first line").
func (c Console) InitCost() (time.Duration, bool) {
	run, ok1 := c.KernelStamp(`Run /init as init process`)
	real, ok2 := c.KernelStamp(`realinit: first line`)
	if !ok1 || !ok2 {
		return 0, false
	}
	return time.Duration((real - run) * float64(time.Second)), true
}

// syncBuffer is a WriteCloser QEMU's output goes to while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Close() error { return nil }

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
