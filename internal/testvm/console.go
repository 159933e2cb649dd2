package testvm

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Console is what a boot showed.
type Console struct {
	Text   string // the serial console
	Screen string // the VGA text screen when Machine.Screen was reached
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
	real, ok2 := c.KernelStamp(RealInitLine)
	if !ok1 || !ok2 {
		return 0, false
	}
	return time.Duration((real - run) * float64(time.Second)), true
}

// RealInitLine is what the test roots' /sbin/init writes to /dev/kmsg
// first: its kernel stamp is "the real init runs".
const RealInitLine = "realinit: first line"

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
