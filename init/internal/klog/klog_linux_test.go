package klog

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

func TestRoute(t *testing.T) {
	for _, tc := range []struct {
		name           string
		level, cl      int
		ignore, kmsgOK bool
		kmsg, direct   bool
	}{
		{"progress, loglevel=7", LevelInfo, 7, false, true, true, false},
		{"progress, quiet: dmesg only", LevelInfo, 4, false, true, true, false},
		{"progress, quiet, ignore_loglevel", LevelInfo, 4, true, true, true, false},
		{"progress, kmsg off", LevelInfo, 7, false, false, false, true},
		{"progress, kmsg off, quiet", LevelInfo, 4, false, false, false, false},
		{"warning, loglevel=7", LevelWarn, 7, false, true, true, false},
		{"warning, quiet", LevelWarn, 4, false, true, true, true},
		{"warning, kmsg off", LevelWarn, 7, false, false, false, true},
		{"failure, quiet", LevelFail, 4, false, true, true, false},
		{"failure, loglevel=2", LevelFail, 2, false, true, true, true},
		{"failure, loglevel=1, ignore_loglevel", LevelFail, 1, true, true, true, false},
		{"failure, no kmsg", LevelFail, 7, false, false, false, true},
	} {
		k, d := route(tc.level, tc.cl, tc.ignore, tc.kmsgOK)
		if k != tc.kmsg || d != tc.direct {
			t.Errorf("%s: route = kmsg %v direct %v, want %v %v", tc.name, k, d, tc.kmsg, tc.direct)
		}
	}
}

func TestConsoleLoglevel(t *testing.T) {
	for in, want := range map[string]int{"7\t4\t1\t7\n": 7, "4 4 1 7": 4, "1": 1, "": 7, "x 4": 7} {
		if got := consoleLoglevel(in); got != want {
			t.Errorf("consoleLoglevel(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestIgnoresLoglevel(t *testing.T) {
	for in, want := range map[string]bool{
		"console=ttyS0 quiet\n":                false,
		"ignore_loglevel":                      true,
		"quiet printk.ignore_loglevel=1":       true,
		"printk.ignore_loglevel=Y":             true,
		"printk.ignore_loglevel=0":             false,
		"sandbox.ignore_loglevel=1 loglevel=3": false,
	} {
		if got := ignoresLoglevel(in); got != want {
			t.Errorf("ignoresLoglevel(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSplitLines(t *testing.T) {
	if got := splitLines("one line", 900); len(got) != 1 || got[0] != "one line" {
		t.Errorf("short: %q", got)
	}
	if got := splitLines("a\nb\r\n", 900); strings.Join(got, "|") != "a|b|" {
		t.Errorf("newlines: %q", got)
	}
	long := strings.TrimSpace(strings.Repeat("word ", 500)) // 2499 bytes
	got := splitLines(long, 900)
	if len(got) < 3 {
		t.Fatalf("%d pieces", len(got))
	}
	for _, p := range got {
		if len(p) > 900 {
			t.Errorf("piece of %d bytes", len(p))
		}
		if strings.HasPrefix(p, " ") || strings.HasSuffix(p, " ") || strings.Contains(p, "wor ") {
			t.Errorf("cut badly: %q…", p[:20])
		}
	}
	if strings.Join(got, " ") != long {
		t.Error("the pieces do not make the line")
	}
	// No space to cut at, and multi-byte characters: never split one.
	u := strings.Repeat("é", 1000)
	got = splitLines(u, 901)
	n := 0
	for _, p := range got {
		if !utf8.ValidString(p) || len(p) > 901 {
			t.Errorf("bad piece %d bytes", len(p))
		}
		n += utf8.RuneCountInString(p)
	}
	if n != 1000 {
		t.Errorf("%d runes, want 1000", n)
	}
}

func TestKmsgBudget(t *testing.T) {
	var b kmsgBudget
	now := time.Duration(3 * time.Second)
	n := 0
	for i := 0; i < 20; i++ {
		if b.allow(now + time.Duration(i)*time.Millisecond) {
			n++
		}
	}
	if n != kmsgBurst || n > 10 {
		t.Errorf("allowed %d in a burst", n)
	}
	if b.allow(now + 5*time.Second) {
		t.Error("allowed before the window surely ended")
	}
	if !b.allow(now + 6*time.Second) {
		t.Error("not allowed in a new window")
	}
}

// fakeSystem is a /dev and a /proc of plain files for a logger.
type fakeSystem struct {
	dev, proc string
	stdout    bytes.Buffer
}

func newFakeSystem(t *testing.T, printk, devkmsg string, devices ...string) *fakeSystem {
	t.Helper()
	f := &fakeSystem{dev: t.TempDir(), proc: t.TempDir()}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(f.dev, "kmsg"), nil, 0o644))
	for _, d := range devices {
		must(os.WriteFile(filepath.Join(f.dev, d), nil, 0o644))
	}
	must(os.MkdirAll(filepath.Join(f.proc, "sys/kernel"), 0o755))
	must(os.WriteFile(filepath.Join(f.proc, "sys/kernel/printk"), []byte(printk+"\n"), 0o644))
	if devkmsg != "" {
		must(os.WriteFile(filepath.Join(f.proc, "sys/kernel/printk_devkmsg"), []byte(devkmsg+"\n"), 0o644))
	}
	must(os.WriteFile(filepath.Join(f.proc, "cmdline"), []byte("console=tty0 console=ttyS0\n"), 0o644))
	return f
}

func (f *fakeSystem) logger(t *testing.T, consoles ...string) *Logger {
	t.Helper()
	dev, err := unix.Open(f.dev, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := unix.Open(f.proc, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(dev); unix.Close(proc) })
	l := New(&f.stdout)
	l.Attach(dev, proc, consoles)
	return l
}

func (f *fakeSystem) read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fakeSystem) dev1(t *testing.T, name string) string {
	return f.read(t, filepath.Join(f.dev, name))
}

// count counts the lines of text that end with want.
func count(text, want string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(l, want) {
			n++
		}
	}
	return n
}

func TestLoggerQuiet(t *testing.T) {
	f := newFakeSystem(t, "4 4 1 7", "on", "tty0", "ttyS0")
	l := f.logger(t, "tty0", "ttyS0")
	l.Printf("CD found: /dev/sr0")
	l.Warnf("WARNING: low on RAM")
	l.Printf("WARNING: promoted")
	w := l.Writer(LevelFail)
	w.Write([]byte("FAILED in phase \"cd\"\n"))
	kmsg := f.dev1(t, "kmsg")
	for _, want := range []string{"<6>sandbox-init: CD found: /dev/sr0\n", "<4>sandbox-init: WARNING: low on RAM\n", "<4>sandbox-init: WARNING: promoted\n", "<2>sandbox-init: FAILED in phase \"cd\"\n"} {
		if strings.Count(kmsg, want) != 1 {
			t.Errorf("kmsg lacks %q:\n%s", want, kmsg)
		}
	}
	for _, c := range []string{"tty0", "ttyS0"} {
		out := f.dev1(t, c)
		// quiet: the progress line stays in dmesg; the kernel prints the
		// failure (2 < 4); the warnings are ours to print.
		if count(out, "sandbox-init: WARNING: low on RAM") != 1 || count(out, "sandbox-init: WARNING: promoted") != 1 ||
			strings.Contains(out, "CD found") || strings.Contains(out, "FAILED") {
			t.Errorf("%s got:\n%s", c, out)
		}
		if !strings.HasPrefix(out, "[") || !strings.Contains(out, "] sandbox-init: WARNING") {
			t.Errorf("%s: no stamp: %q", c, out)
		}
	}
	if f.stdout.Len() != 0 {
		t.Errorf("stdout got %q", f.stdout.String())
	}
}

func TestLoggerVerbose(t *testing.T) {
	f := newFakeSystem(t, "7 4 1 7", "on", "tty0", "ttyS0")
	l := f.logger(t, "tty0", "ttyS0")
	l.Printf("progress")
	l.Warnf("WARNING: w")
	l.Logf(LevelFail, "FAILED")
	if got := f.dev1(t, "kmsg"); got != "<6>sandbox-init: progress\n<4>sandbox-init: WARNING: w\n<2>sandbox-init: FAILED\n" {
		t.Errorf("kmsg = %q", got)
	}
	// The kernel prints them all: nothing for us to write.
	if f.dev1(t, "tty0") != "" || f.dev1(t, "ttyS0") != "" || f.stdout.Len() != 0 {
		t.Error("a line written directly too")
	}
}

func TestLoggerKmsgOff(t *testing.T) {
	f := newFakeSystem(t, "7 4 1 7", "off", "tty0", "ttyS0")
	l := f.logger(t, "tty0", "ttyS0")
	l.Printf("progress")
	l.Logf(LevelFail, "FAILED")
	if got := f.dev1(t, "kmsg"); got != "" {
		t.Errorf("kmsg = %q", got)
	}
	for _, c := range []string{"tty0", "ttyS0"} {
		if out := f.dev1(t, c); count(out, "sandbox-init: progress") != 1 || count(out, "sandbox-init: FAILED") != 1 {
			t.Errorf("%s got %q", c, out)
		}
	}
}

func TestLoggerFallbacks(t *testing.T) {
	// The consoles are unknown: stdout.
	f := newFakeSystem(t, "4 4 1 7", "on")
	l := f.logger(t)
	l.Warnf("WARNING: a")
	if count(f.stdout.String(), "sandbox-init: WARNING: a") != 1 {
		t.Errorf("stdout = %q", f.stdout.String())
	}
	// /dev/console's device (the last) cannot be opened: stdout stands
	// in for it, and for it only.
	f = newFakeSystem(t, "4 4 1 7", "on", "tty0")
	l = f.logger(t, "tty0", "ttyS0", "ttyUSB9")
	l.Warnf("WARNING: b")
	if count(f.stdout.String(), "sandbox-init: WARNING: b") != 1 || count(f.dev1(t, "tty0"), "sandbox-init: WARNING: b") != 1 {
		t.Errorf("stdout = %q, tty0 = %q", f.stdout.String(), f.dev1(t, "tty0"))
	}
	// Nothing open at all: a new logger writes to stdout.
	var out bytes.Buffer
	l = New(&out)
	l.Printf("started")
	l.LiftKmsgLimit()
	l.RestoreKmsgLimit()
	if count(out.String(), "sandbox-init: started") != 1 {
		t.Errorf("out = %q", out.String())
	}
}

func TestLoggerRateLimit(t *testing.T) {
	f := newFakeSystem(t, "7 4 1 7", "ratelimit", "ttyS0")
	l := f.logger(t, "ttyS0")
	l.LiftKmsgLimit()
	if got := firstField(f.read(t, filepath.Join(f.proc, "sys/kernel/printk_devkmsg"))); got != "on" {
		t.Errorf("lifted: printk_devkmsg = %q", got)
	}
	for i := 0; i < 30; i++ {
		l.Printf("line %d", i)
	}
	if n := strings.Count(f.dev1(t, "kmsg"), "\n"); n != 30 {
		t.Errorf("%d kmsg records while lifted, want 30", n)
	}
	l.RestoreKmsgLimit()
	if got := firstField(f.read(t, filepath.Join(f.proc, "sys/kernel/printk_devkmsg"))); got != "ratelimit" {
		t.Errorf("restored: printk_devkmsg = %q", got)
	}
	// Under the limit, the lines past the budget are written directly:
	// every line reaches the console once, by one way or the other.
	for i := 0; i < 30; i++ {
		l.Printf("again %d", i)
	}
	kmsg, tty := f.dev1(t, "kmsg"), f.dev1(t, "ttyS0")
	for i := 0; i < 30; i++ {
		want := "sandbox-init: again " + strconv.Itoa(i)
		if n := count(kmsg, want) + count(tty, want); n != 1 {
			t.Errorf("%q reached the console %d times", want, n)
		}
	}
	if n := strings.Count(kmsg, "again"); n != kmsgBurst {
		t.Errorf("%d kmsg records under the limit, want %d", n, kmsgBurst)
	}
	// "off" is never lifted.
	f = newFakeSystem(t, "7 4 1 7", "off")
	l = f.logger(t)
	l.LiftKmsgLimit()
	if got := firstField(f.read(t, filepath.Join(f.proc, "sys/kernel/printk_devkmsg"))); got != "off" {
		t.Errorf("printk_devkmsg = %q", got)
	}
}

func TestLoggerLongLine(t *testing.T) {
	f := newFakeSystem(t, "7 4 1 7", "on")
	l := f.logger(t)
	l.Printf("%s", strings.Repeat("a ", 1000))
	for _, rec := range strings.Split(strings.TrimSuffix(f.dev1(t, "kmsg"), "\n"), "\n") {
		if len(rec) > 1000 || !strings.HasPrefix(rec, "<6>sandbox-init: a") {
			t.Errorf("record of %d bytes: %.40q", len(rec), rec)
		}
	}
}
