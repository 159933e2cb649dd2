package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// logPrefix starts every line sandbox-init prints, so users can grep for it.
const logPrefix = "sandbox-init: "

// logger writes timestamped lines to the console and to /dev/kmsg.
type logger struct {
	mu      sync.Mutex
	console io.Writer
	kmsg    *os.File
}

func newLogger(console io.Writer) *logger {
	return &logger{console: console}
}

// openKmsg starts copying lines to the kernel log, once /dev is mounted.
func (l *logger) openKmsg() {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		l.mu.Lock()
		l.kmsg = f
		l.mu.Unlock()
	}
}

// uptime reads CLOCK_BOOTTIME, the clock behind the kernel's own [ s.us ]
// stamps, so our lines and the kernel's line up.
func uptime() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return time.Duration(ts.Nano())
}

func (l *logger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t := uptime()
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.console, "[%5d.%06d] %s%s\n", t/time.Second, (t%time.Second)/time.Microsecond, logPrefix, msg)
	if l.kmsg != nil {
		// Level 7 (debug): dmesg keeps the line, but the console, which
		// already got it above, does not print it twice at loglevel=7.
		fmt.Fprintf(l.kmsg, "<7>%s%s\n", logPrefix, msg)
	}
}
