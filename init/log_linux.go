package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// logPrefix starts every line sandbox-init prints, so users can grep for it.
const logPrefix = "sandbox-init: "

// The kernel log levels sandbox-init writes at. The kernel prints a
// /dev/kmsg record on every console when its level is below the console
// loglevel (7 with loglevel=7, 4 with quiet): see route for what happens
// when it does not.
const (
	levelFail = 2 // KERN_CRIT: the failure block, the watcher's ALERT
	levelWarn = 4 // KERN_WARNING: WARNING lines
	levelInfo = 6 // KERN_INFO: progress
)

// maxLine is the most bytes of a message that go into one kmsg record, with
// room to spare for "<N>", the prefix and the newline: the kernel refuses a
// write of more than about 1000 bytes. Longer messages are split.
const maxLine = 900

// logger writes sandbox-init's lines to every active console, exactly once
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
type logger struct {
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
}

func newLogger(stdout io.Writer) *logger {
	return &logger{stdout: stdout, devDir: -1, procDir: -1, kmsg: -1, printk: -1, devkmsg: -1}
}

// openKmsg sets PID 1's logger up once /dev, /proc and /sys are mounted:
// it learns the active consoles, lifts kmsg's rate limit for the time
// sandbox-init runs in the initramfs (restoreKmsgLimit puts it back), opens
// /dev/kmsg and learns the printk clock's offset from the stamp the kernel
// gives a line we write. Whatever fails leaves a logger that still writes,
// to the consoles or to stdout.
func (l *logger) openKmsg() {
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
		consoles = parseActiveConsoles(string(b))
	}
	l.attach(dev, proc, consoles)
	l.liftKmsgLimit()
	l.learnClock()
}

// attach opens what the logger reads and writes through the directory fds
// dev (/dev) and proc (/proc), either of which may be -1, and sets the
// active consoles. The watcher calls it with the fds it inherited.
func (l *logger) attach(dev, proc int, consoles []string) {
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

// openAt opens name under the directory fd dir; -1 when it cannot.
func openAt(dir int, name string, flag int) int {
	if dir < 0 {
		return -1
	}
	fd, err := unix.Openat(dir, name, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// readFd reads a small /proc file from its start.
func readFd(fd int) string {
	if fd < 0 {
		return ""
	}
	b := make([]byte, 4096)
	n, err := unix.Pread(fd, b, 0)
	if err != nil || n < 0 {
		return ""
	}
	return string(b[:n])
}

// firstField is a /proc value's first word.
func firstField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// liftKmsgLimit turns printk_devkmsg from "ratelimit" (the default: 10
// lines per 5 s per opener, the rest silently dropped, which would cut a
// failure block) to "on" while PID 1 runs in the initramfs. "off" is the
// user's and stays. A value set on the kernel command line is locked: the
// write fails and kmsgBudget keeps us under the limit instead.
func (l *logger) liftKmsgLimit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.devkmsgWas != "" {
		return
	}
	was := firstField(readFd(l.devkmsg))
	if was != "ratelimit" {
		return
	}
	if _, err := unix.Pwrite(l.devkmsg, []byte("on\n"), 0); err == nil {
		l.devkmsgWas = was
	}
}

// restoreKmsgLimit puts printk_devkmsg back as it was before openKmsg, for
// the real system: switchRoot calls it just before the switch.
func (l *logger) restoreKmsgLimit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.devkmsgWas == "" {
		return
	}
	if _, err := unix.Pwrite(l.devkmsg, []byte(l.devkmsgWas+"\n"), 0); err == nil {
		l.devkmsgWas = ""
	}
}

// learnClock learns the printk clock's offset from the stamp the kernel
// gives a debug line we write, for the stamps of the lines the logger
// writes itself.
func (l *logger) learnClock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kmsg < 0 || !l.kmsgTakes() {
		return
	}
	// Reading starts at the oldest record: skip to the end first.
	if _, err := unix.Seek(l.kmsg, 0, io.SeekEnd); err != nil {
		return
	}
	before := uptime()
	if _, err := unix.Write(l.kmsg, []byte("<7>"+logPrefix+"clock sync\n")); err != nil {
		return
	}
	after := uptime()
	buf := make([]byte, 2048)
	for range 8 { // the kernel may have logged a line in between
		n, err := unix.Read(l.kmsg, buf)
		if err == unix.EPIPE {
			continue // overwritten records: the read goes on after them
		}
		if err != nil || n <= 0 {
			return
		}
		// A record is "PRIO,SEQ,USEC,FLAGS;TEXT".
		fields := strings.SplitN(string(buf[:n]), ",", 4)
		if len(fields) < 4 || !strings.Contains(fields[3], ";"+logPrefix+"clock sync") {
			continue
		}
		us, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return
		}
		l.offset = time.Duration(us)*time.Microsecond - (before+after)/2
		return
	}
}

// uptime reads CLOCK_BOOTTIME.
func uptime() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return time.Duration(ts.Nano())
}

// Printf logs a progress line. A line that starts with "WARNING" is logged
// as a warning (Warnf).
func (l *logger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	level := levelInfo
	if strings.HasPrefix(msg, "WARNING") {
		level = levelWarn
	}
	l.log(level, msg)
}

// Warnf logs a warning: it reaches every console whatever the loglevel.
func (l *logger) Warnf(format string, args ...any) {
	l.log(levelWarn, fmt.Sprintf(format, args...))
}

// logf logs at a kernel log level (levelFail, levelWarn, levelInfo).
func (l *logger) logf(level int, format string, args ...any) {
	l.log(level, fmt.Sprintf(format, args...))
}

// writer returns an io.Writer whose every line is logged at level.
func (l *logger) writer(level int) io.Writer { return levelWriter{l, level} }

type levelWriter struct {
	l     *logger
	level int
}

// Write logs each line of p; a last line without its newline counts too,
// so callers write whole lines.
func (w levelWriter) Write(p []byte) (int, error) {
	w.l.log(w.level, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// log writes msg, split into lines, where route says. It never panics:
// PID 1 must not die of a log line.
func (l *logger) log(level int, msg string) {
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
			t := uptime() + l.offset
			l.writeConsoles(fmt.Appendf(nil, "[%5d.%06d] %s%s\n", t/time.Second, (t%time.Second)/time.Microsecond, logPrefix, line))
		}
	}
}

// kmsgTakes tells whether a record written to /dev/kmsg now will be kept
// (and so printed by the kernel): not with printk_devkmsg=off, and under
// "ratelimit" only within kmsgBudget. l.mu is held.
func (l *logger) kmsgTakes() bool {
	switch firstField(readFd(l.devkmsg)) {
	case "on":
		return true
	case "off":
		return false
	}
	return l.budget.allow(uptime())
}

// writeConsoles writes one line to each active console's device, with one
// write each so nothing comes between its characters from our side. The
// devices are opened for each line, not kept: a getty's vhangup in the
// booted system would leave a kept fd dead. When the consoles are unknown,
// or /dev/console's own device cannot be opened, stdout stands in. l.mu is
// held.
func (l *logger) writeConsoles(line []byte) {
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

// consoleArg is the active consoles as the watcher's argument: "tty0,ttyS0".
func (l *logger) consoleArg() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.consoles, ",")
}

// route decides where a line of a level goes, given the console loglevel
// (the first field of /proc/sys/kernel/printk), ignore_loglevel, and
// whether /dev/kmsg will take a record now:
//
//   - to kmsg whenever it takes records: dmesg keeps every line;
//   - directly to the consoles when the line is to be seen and the kernel
//     will not print it there itself.
//
// Progress lines respect the user's console loglevel: under quiet (4) or
// loglevel=N≤6 they are kept in dmesg only, like the kernel's own info
// lines. A user who asks for a quiet boot gets one; these lines say only
// that things went as planned, and sandbox-init status and state.json tell
// the same story later. Warnings and the failure block are always shown:
// they are why someone looks at the screen.
func route(level, consoleLoglevel int, ignoreLoglevel, kmsgOK bool) (kmsg, direct bool) {
	echoed := kmsgOK && kernelEchoes(level, consoleLoglevel, ignoreLoglevel)
	shown := level <= levelWarn || kernelEchoes(level, consoleLoglevel, ignoreLoglevel)
	return kmsgOK, shown && !echoed
}

// kernelEchoes tells whether the kernel prints a record of level on the
// consoles: below the console loglevel, or any with ignore_loglevel.
func kernelEchoes(level, consoleLoglevel int, ignoreLoglevel bool) bool {
	return ignoreLoglevel || level < consoleLoglevel
}

// consoleLoglevel parses /proc/sys/kernel/printk's first field; 7 (the
// kernel's default, every level but debug) when it cannot be read.
func consoleLoglevel(printk string) int {
	fields := strings.Fields(printk)
	if len(fields) == 0 {
		return 7
	}
	l, err := strconv.Atoi(fields[0])
	if err != nil {
		return 7
	}
	return l
}

// ignoresLoglevel tells whether the kernel command line asks the kernel to
// print every level on the consoles.
func ignoresLoglevel(cmdline string) bool {
	for _, w := range strings.Fields(cmdline) {
		k, v, hasV := strings.Cut(w, "=")
		if k != "ignore_loglevel" && k != "printk.ignore_loglevel" {
			continue
		}
		if !hasV {
			return true
		}
		b, err := strconv.ParseBool(v)
		return err == nil && b || v == "Y" || v == "y"
	}
	return false
}

// splitLines cuts msg into the lines it holds, and each line into pieces of
// at most max bytes, at a space when there is one in the piece's second
// half and never inside a UTF-8 character.
func splitLines(msg string, max int) []string {
	var out []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSuffix(line, "\r")
		for len(line) > max {
			cut := max
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			if sp := strings.LastIndexByte(line[:cut], ' '); sp > max/2 {
				cut = sp + 1
			}
			if cut == 0 {
				cut = max
			}
			out = append(out, strings.TrimRight(line[:cut], " "))
			line = line[cut:]
		}
		out = append(out, line)
	}
	return out
}

// kmsgBudget keeps the writes to /dev/kmsg under the kernel's rate limit
// (printk_devkmsg=ratelimit: a burst of 10 records per 5 s per opener, the
// rest dropped without an error) when it could not be lifted: a record over
// the budget goes to the consoles directly instead, so it is not lost. It
// counts the records it allows, as the kernel does, in a window that starts
// with the first one; its window ends a second later than the kernel's and
// its burst is 2 short, so it errs towards writing directly.
type kmsgBudget struct {
	begin time.Duration
	n     int
}

const (
	kmsgBurst    = 10 - 2
	kmsgInterval = 5*time.Second + time.Second
)

func (b *kmsgBudget) allow(now time.Duration) bool {
	if b.n == 0 || now-b.begin >= kmsgInterval {
		b.begin, b.n = now, 0
	}
	if b.n >= kmsgBurst {
		return false
	}
	b.n++
	return true
}
