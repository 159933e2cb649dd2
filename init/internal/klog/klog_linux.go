// Package klog is sandbox-init's log: each line to the kernel's log
// (/dev/kmsg, dmesg) and, when the kernel will not print it there itself,
// to every active console, exactly once each. PID 1's boot, its failure
// report and shutdown, and the COW watcher (sandbox-init watch) all log
// through it, so their lines look and route alike.
package klog

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// logPrefix starts every line sandbox-init prints, so users can grep for it.
const logPrefix = "sandbox-init: "

// The kernel log levels sandbox-init writes at. The kernel prints a
// /dev/kmsg record on every console when its level is below the console
// loglevel (7 with loglevel=7, 4 with quiet): see route for what happens
// when it does not.
const (
	LevelFail = 2 // KERN_CRIT: the failure block, the watcher's ALERT
	LevelWarn = 4 // KERN_WARNING: WARNING lines
	LevelInfo = 6 // KERN_INFO: progress
)

// maxLine is the most bytes of a message that go into one kmsg record, with
// room to spare for "<N>", the prefix and the newline: the kernel refuses a
// write of more than about 1000 bytes. Longer messages are split.
const maxLine = 900

// Logger writes sandbox-init's lines to every active console, exactly once
// each, and to the kernel log (dmesg):
//
//   - each line goes to /dev/kmsg at its level; when the kernel will echo
//     it (level below the console loglevel), that is all: the kernel prints
//     it, stamped and whole, on every console;
//   - when it will not (quiet, loglevel=N, printk_devkmsg=off, kmsg not open
//     yet, or over kmsg's rate limit), the logger writes the line, with its
//     own stamp, to each active console's device (/dev/tty0, /dev/ttyS0…),
//     or to stdout (/dev/console) when it does not know them.
//
// The same code serves PID 1 and the COW watcher, which reaches /dev and
// /proc through directory fds after switch_root.
type Logger struct {
	mu     sync.Mutex
	stdout io.Writer // /dev/console: the fallback when the consoles are unknown
	// devDir and procDir are /dev and /proc, opened as directories: they
	// follow their mounts through switch_root. -1 when not open.
	devDir, procDir int
	// consoles are the active consoles (/sys/class/tty/console/active), as
	// names under /dev; the last one is /dev/console. Nil when unknown.
	consoles []string
	kmsg     int // /dev/kmsg, -1 when not open
	// printk and devkmsg are /proc/sys/kernel/printk and printk_devkmsg,
	// read at each line: both can change while the watcher runs. -1 when
	// not open.
	printk, devkmsg int
	ignoreLoglevel  bool // ignore_loglevel: the kernel prints every level
	// devkmsgWas is printk_devkmsg as it was before liftKmsgLimit; "" when
	// sandbox-init did not change it.
	devkmsgWas string
	budget     kmsgBudget
	// offset turns CLOCK_BOOTTIME into the kernel's printk clock, which
	// runs apart from it (tens of ms under QEMU): with it our console lines
	// and the kernel's sort by time.
	offset time.Duration
	// q is Async's queue, nil when lines are written at once; qmu guards
	// it, and is held while a line is handed over (async_linux.go).
	qmu sync.Mutex
	q   *asyncQueue
}

// New is a logger that writes to stdout until OpenKmsg or Attach tells it
// the consoles and the kernel's log.
func New(stdout io.Writer) *Logger {
	return &Logger{stdout: stdout, devDir: -1, procDir: -1, kmsg: -1, printk: -1, devkmsg: -1}
}

// OpenKmsg sets PID 1's logger up once /dev, /proc and /sys are mounted:
// it learns the active consoles, lifts kmsg's rate limit for the time
// sandbox-init runs in the initramfs (RestoreKmsgLimit puts it back), opens
// /dev/kmsg and learns the printk clock's offset from the stamp the kernel
// gives a line we write. Whatever fails leaves a logger that still writes,
// to the consoles or to stdout.
func (l *Logger) OpenKmsg() {
	dir := func(path string) int {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1
		}
		return fd
	}
	dev, proc := dir("/dev"), dir("/proc")
	var consoles []string
	if b, err := os.ReadFile("/sys/class/tty/console/active"); err == nil {
		consoles = ParseActiveConsoles(string(b))
	}
	l.Attach(dev, proc, consoles)
	l.LiftKmsgLimit()
	l.LearnClock()
}

// Attach opens what the logger reads and writes through the directory fds
// dev (/dev) and proc (/proc), either of which may be -1, and sets the
// active consoles. The watcher calls it with the fds it inherited.
func (l *Logger) Attach(dev, proc int, consoles []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.devDir, l.procDir, l.consoles = dev, proc, consoles
	l.kmsg = openAt(dev, "kmsg", unix.O_RDWR|unix.O_NONBLOCK)
	if l.kmsg < 0 { // a write-only open is enough to log
		l.kmsg = openAt(dev, "kmsg", unix.O_WRONLY|unix.O_NONBLOCK)
	}
	l.printk = openAt(proc, "sys/kernel/printk", unix.O_RDONLY)
	l.devkmsg = openAt(proc, "sys/kernel/printk_devkmsg", unix.O_RDWR)
	if l.devkmsg < 0 {
		l.devkmsg = openAt(proc, "sys/kernel/printk_devkmsg", unix.O_RDONLY)
	}
	if fd := openAt(proc, "cmdline", unix.O_RDONLY); fd >= 0 {
		l.ignoreLoglevel = ignoresLoglevel(readFd(fd))
		unix.Close(fd)
	}
}

// Printf logs a progress line. A line that starts with "WARNING" is logged
// as a warning (Warnf).
func (l *Logger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	level := LevelInfo
	if strings.HasPrefix(msg, "WARNING") {
		level = LevelWarn
	}
	l.log(level, msg)
}

// Warnf logs a warning: it reaches every console whatever the loglevel.
func (l *Logger) Warnf(format string, args ...any) {
	l.log(LevelWarn, fmt.Sprintf(format, args...))
}

// Logf logs at a kernel log level (LevelFail, LevelWarn, LevelInfo).
func (l *Logger) Logf(level int, format string, args ...any) {
	l.log(level, fmt.Sprintf(format, args...))
}

// Writer returns an io.Writer whose every line is logged at level.
func (l *Logger) Writer(level int) io.Writer { return levelWriter{l, level} }

type levelWriter struct {
	l     *Logger
	level int
}

// Write logs each line of p; a last line without its newline counts too,
// so callers write whole lines.
func (w levelWriter) Write(p []byte) (int, error) {
	w.l.log(w.level, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// log writes msg, or has Async's writer write it. A warning or worse is
// written after every line queued before it, before log returns.
func (l *Logger) log(level int, msg string) {
	if l.queue(level, msg) {
		return
	}
	l.flush()
	l.write(level, msg)
}

// write writes msg, split into lines, where route says. It never panics:
// PID 1 must not die of a log line.
func (l *Logger) write(level int, msg string) {
	defer func() { _ = recover() }()
	l.mu.Lock()
	defer l.mu.Unlock()
	cl := consoleLoglevel(readFd(l.printk))
	for _, line := range splitLines(msg, maxLine) {
		kmsgOK := l.kmsg >= 0 && l.kmsgTakes()
		toKmsg, direct := route(level, cl, l.ignoreLoglevel, kmsgOK)
		if toKmsg {
			// One write, one record: the kernel prints it whole.
			if _, err := unix.Write(l.kmsg, fmt.Appendf(nil, "<%d>%s%s\n", level, logPrefix, line)); err != nil {
				_, direct = route(level, cl, l.ignoreLoglevel, false)
			}
		}
		if direct {
			t := Uptime() + l.offset
			l.writeConsoles(fmt.Appendf(nil, "[%5d.%06d] %s%s\n", t/time.Second, (t%time.Second)/time.Microsecond, logPrefix, line))
		}
	}
}

// kmsgTakes tells whether a record written to /dev/kmsg now will be kept
// (and so printed by the kernel): not with printk_devkmsg=off, and under
// "ratelimit" only within kmsgBudget. l.mu is held.
func (l *Logger) kmsgTakes() bool {
	switch firstField(readFd(l.devkmsg)) {
	case "on":
		return true
	case "off":
		return false
	}
	return l.budget.allow(Uptime())
}

// writeConsoles writes one line to each active console's device, with one
// write each so nothing comes between its characters from our side. The
// devices are opened for each line, not kept: a getty's vhangup in the
// booted system would leave a kept fd dead. When the consoles are unknown,
// or /dev/console's own device cannot be opened, stdout stands in. l.mu is
// held.
func (l *Logger) writeConsoles(line []byte) {
	if len(l.consoles) == 0 || l.devDir < 0 {
		l.stdout.Write(line)
		return
	}
	for i, name := range l.consoles {
		// O_NONBLOCK: a serial port's open must not wait for a carrier.
		// (O_APPEND means nothing to a tty; the tests write to files.)
		fd := openAt(l.devDir, name, unix.O_WRONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_APPEND)
		if fd < 0 {
			if i == len(l.consoles)-1 { // the one stdout is
				l.stdout.Write(line)
			}
			continue
		}
		_ = unix.SetNonblock(fd, false)
		for p := line; len(p) > 0; {
			n, err := unix.Write(fd, p)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n <= 0 {
				break
			}
			p = p[n:]
		}
		unix.Close(fd)
	}
}

// Consoles is the active consoles, as names under /dev (nil when unknown):
// where the rescue shells may run.
func (l *Logger) Consoles() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.consoles...)
}

// ConsoleArg is the active consoles as the watcher's argument: "tty0,ttyS0".
func (l *Logger) ConsoleArg() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.consoles, ",")
}
