package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
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
	// offset turns CLOCK_BOOTTIME into the kernel's printk clock, which
	// runs apart from it (tens of ms under QEMU): with it our console lines
	// and the kernel's sort by time.
	offset time.Duration
}

func newLogger(console io.Writer) *logger {
	return &logger{console: console}
}

// openKmsg starts copying lines to the kernel log, once /dev is mounted,
// and learns the printk clock's offset from the stamp the kernel gives a
// line we write.
func (l *logger) openKmsg() {
	f, err := os.OpenFile("/dev/kmsg", os.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kmsg = f
	// Reading starts at the oldest record: skip to the end first.
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return
	}
	before := uptime()
	if _, err := fmt.Fprintf(f, "<7>%sclock sync\n", logPrefix); err != nil {
		return
	}
	after := uptime()
	buf := make([]byte, 512)
	n, err := f.Read(buf)
	if err != nil {
		return
	}
	// A record is "PRIO,SEQ,USEC,FLAGS;TEXT".
	fields := strings.SplitN(string(buf[:n]), ",", 4)
	if len(fields) < 4 || !strings.Contains(fields[3], "clock sync") {
		return
	}
	us, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return
	}
	l.offset = time.Duration(us)*time.Microsecond - (before+after)/2
}

// uptime reads CLOCK_BOOTTIME.
func uptime() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return time.Duration(ts.Nano())
}

func (l *logger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	t := uptime() + l.offset
	fmt.Fprintf(l.console, "[%5d.%06d] %s%s\n", t/time.Second, (t%time.Second)/time.Microsecond, logPrefix, msg)
	if l.kmsg != nil {
		// Level 7 (debug): dmesg keeps the line, but the console, which
		// already got it above, does not print it twice at loglevel=7.
		fmt.Fprintf(l.kmsg, "<7>%s%s\n", logPrefix, msg)
	}
}
