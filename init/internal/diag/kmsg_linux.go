package diag

import (
	"strings"

	"golang.org/x/sys/unix"
)

// VerityName is the verified image's device-mapper name.
func VerityName(name string) string { return name + "-verity" }

// CorruptBlocks reads, from kmsg records, the blocks dm-verity found
// corrupted, in order, each once.
func CorruptBlocks(log string, seen map[string]bool) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		what, block, ok := corruptLine(line)
		if !ok {
			continue
		}
		b := what + " block " + block
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

// ReadKmsg reads the records a non-blocking /dev/kmsg fd has, without
// waiting, each record's text on a line.
func ReadKmsg(fd int) string {
	var b strings.Builder
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EPIPE {
			continue // records overwritten while we read: go on
		}
		if err != nil || n <= 0 {
			break
		}
		if _, msg, ok := strings.Cut(string(buf[:n]), ";"); ok {
			msg, _, _ = strings.Cut(msg, "\n")
			b.WriteString(msg + "\n")
		}
	}
	return b.String()
}

// ReadKmsgAt reads the kernel's log from its start: name is /dev/kmsg, or
// "kmsg" under the watcher's /dev, dir.
func ReadKmsgAt(dir int, name string) string {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	return ReadKmsg(fd)
}
