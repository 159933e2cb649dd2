package klog

import (
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

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

// LiftKmsgLimit turns printk_devkmsg from "ratelimit" (the default: 10
// lines per 5 s per opener, the rest silently dropped, which would cut a
// failure block) to "on" while PID 1 runs in the initramfs. "off" is the
// user's and stays. A value set on the kernel command line is locked: the
// write fails and kmsgBudget keeps us under the limit instead.
func (l *Logger) LiftKmsgLimit() {
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

// RestoreKmsgLimit puts printk_devkmsg back as it was before OpenKmsg, for
// the real system: switchRoot calls it just before the switch.
func (l *Logger) RestoreKmsgLimit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.devkmsgWas == "" {
		return
	}
	if _, err := unix.Pwrite(l.devkmsg, []byte(l.devkmsgWas+"\n"), 0); err == nil {
		l.devkmsgWas = ""
	}
}

// LearnClock learns the printk clock's offset from the stamp the kernel
// gives a debug line we write, for the stamps of the lines the logger
// writes itself.
func (l *Logger) LearnClock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kmsg < 0 || !l.kmsgTakes() {
		return
	}
	// Reading starts at the oldest record: skip to the end first.
	if _, err := unix.Seek(l.kmsg, 0, io.SeekEnd); err != nil {
		return
	}
	before := Uptime()
	if _, err := unix.Write(l.kmsg, []byte("<7>"+logPrefix+"clock sync\n")); err != nil {
		return
	}
	after := Uptime()
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

// Uptime reads CLOCK_BOOTTIME.
func Uptime() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return time.Duration(ts.Nano())
}
