package diag

import "strings"

// The kernel's lines are matched by hand, not with package regexp: the
// init links diag, and regexp with the Unicode tables it pulls in is a
// quarter of a megabyte of the binary (90 KB of a CD's compressed
// initramfs), for three fixed patterns.

// corruptLine finds dm-verity's report of a block that failed its check,
// "device-mapper: verity: 7:1: data block 12 is corrupted": what (data or
// metadata) and the block's number.
func corruptLine(line string) (what, block string, ok bool) {
	for rest := line; ; {
		i := strings.Index(rest, "verity: ")
		if i < 0 {
			return "", "", false
		}
		rest = rest[i+len("verity: "):]
		if what, block, ok = corruptAt(rest); ok {
			return what, block, true
		}
	}
}

// corruptAt matches "MAJ:MIN: (data|metadata) block N is corrupted" at
// the start of s.
func corruptAt(s string) (what, block string, ok bool) {
	s, ok = skipDigits(s)
	if !ok || !strings.HasPrefix(s, ":") {
		return "", "", false
	}
	if s, ok = skipDigits(s[1:]); !ok || !strings.HasPrefix(s, ": ") {
		return "", "", false
	}
	s = s[2:]
	for _, w := range []string{"data", "metadata"} {
		if after, found := strings.CutPrefix(s, w+" block "); found {
			n := leadingDigits(after)
			if n > 0 && strings.HasPrefix(after[n:], " is corrupted") {
				return w, after[:n], true
			}
		}
	}
	return "", "", false
}

// ioErrorLine finds a block device's read error, "I/O error, dev loop2,
// sector 16288": the words up to the sector's number.
func ioErrorLine(line string) (string, bool) {
	const head = "I/O error, dev "
	for off := 0; ; {
		i := strings.Index(line[off:], head)
		if i < 0 {
			return "", false
		}
		start := off + i
		s := line[start+len(head):]
		dev := 0
		for dev < len(s) && (s[dev] >= 'a' && s[dev] <= 'z' || s[dev] >= '0' && s[dev] <= '9') {
			dev++
		}
		if after, found := strings.CutPrefix(s[dev:], ", sector "); dev > 0 && found {
			if n := leadingDigits(after); n > 0 {
				end := len(line) - len(after) + n
				return line[start:end], true
			}
		}
		off = start + 1
	}
}

// invalidatingLine finds dm-snapshot's "Invalidating snapshot: WHY" and
// returns WHY.
func invalidatingLine(line string) (string, bool) {
	_, why, ok := strings.Cut(line, "Invalidating snapshot: ")
	return why, ok
}

// leadingDigits is the number of decimal digits s starts with.
func leadingDigits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// skipDigits drops the digits s starts with; ok is false when there are
// none.
func skipDigits(s string) (string, bool) {
	n := leadingDigits(s)
	return s[n:], n > 0
}
