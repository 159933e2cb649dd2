package klog

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

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
	shown := level <= LevelWarn || kernelEchoes(level, consoleLoglevel, ignoreLoglevel)
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
