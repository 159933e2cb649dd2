package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Size is an amount of memory given either in bytes or as a share of RAM.
type Size struct {
	Bytes   uint64 // used when Percent is 0
	Percent int    // 1..100: share of MemTotal
}

// Resolve turns s into bytes for a machine with memTotal bytes of RAM.
func (s Size) Resolve(memTotal uint64) uint64 {
	if s.Percent > 0 {
		return memTotal / 100 * uint64(s.Percent)
	}
	return s.Bytes
}

func (s Size) String() string {
	if s.Percent > 0 {
		return strconv.Itoa(s.Percent) + "%"
	}
	return FormatBytes(s.Bytes)
}

// ParseSize reads 512M, 2G, 65536K, 1048576 (bytes) or 50%.
func ParseSize(v string) (Size, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100 {
			return Size{}, errors.New("is not a percentage from 1% to 100%")
		}
		return Size{Percent: n}, nil
	}
	num := strings.TrimRight(v, "kKmMgGtTiBb")
	unit := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(v[len(num):], "B"), "i"))
	mult := map[string]uint64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit]
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || mult == 0 {
		return Size{}, errors.New("is not a size")
	}
	if n > (1<<50)/mult {
		return Size{}, errors.New("is too large")
	}
	if n*mult < 1<<20 {
		return Size{}, errors.New("is smaller than 1M")
	}
	return Size{Bytes: n * mult}, nil
}

// FormatBytes prints a byte count in the largest binary unit that divides
// it, exactly, so that ParseSize reads it back: for command lines, not for
// people (see HumanBytes).
func FormatBytes(b uint64) string {
	for _, u := range []struct {
		s string
		n uint64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if b >= u.n && b%u.n == 0 {
			return strconv.FormatUint(b/u.n, 10) + u.s
		}
	}
	return strconv.FormatUint(b, 10)
}

// HumanBytes prints a byte count for people, rounded: whole MiB from 10 MiB
// on ("12 MiB"), one decimal from 1 MiB ("3.4 MiB"), whole KiB below
// ("512 KiB"). It is the one such formatter of the project, so the builder's
// sizes, the init's COW use and the benchmark's tables read alike.
func HumanBytes(n uint64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// MemTotal reads MemTotal, in bytes, from the text of /proc/meminfo.
func MemTotal(meminfo string) (uint64, error) { return MemField(meminfo, "MemTotal") }

// MemField reads one field of /proc/meminfo's text (MemTotal,
// MemAvailable, …), in bytes.
func MemField(meminfo, field string) (uint64, error) {
	for _, line := range strings.Split(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s %q: %w", field, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s line in /proc/meminfo", field)
}
