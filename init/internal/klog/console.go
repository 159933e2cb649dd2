package klog

import "strings"

// The kernel can be given several consoles (console=tty0 console=ttyS0:
// the monitor and a serial port). /dev/console is only the last of them,
// so what PID 1 writes to its stdout reaches one; the kernel prints its
// own records on all. /sys/class/tty/console/active lists them, the
// /dev/console one last: "tty0 ttyS0".

// ParseActiveConsoles turns the active-console list (or the watcher's
// comma-separated copy of it) into device names under /dev, in order,
// without repeats or names that are no device's.
func ParseActiveConsoles(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	return out
}
