package main

import (
	"fmt"
	"strings"
)

// ioTables is bench io's table, a row per configuration; the notes say
// how each got its /dev/ram1 (docs/bench.md#io says the rest).
func ioTables(cs []*ioConfig, n, mib int) []table {
	t := table{
		title: fmt.Sprintf("Sandbox writes: dd %d MiB conv=fsync, file on / vs raw brd /dev/ram1 and a file on ext2 on brd /dev/ram2, in the same boot (%d boots each; median (min–max))", mib, n),
		head:  []string{"config", "sandbox MiB/s", "raw brd MiB/s", "ext2 on brd MiB/s", "sandbox/raw", "sandbox/ext2-on-brd", "COW sectors per MiB", "COW sectors per small file", "RAM KiB per MiB (sandbox)", "RAM KiB per MiB (raw brd)"},
	}
	var notes []string
	for _, c := range cs {
		t.rows = append(t.rows, []string{c.name, cell(c.s["cow"], "%.1f"), cell(c.s["raw"], "%.1f"), cell(c.s["fs"], "%.1f"), cell(c.s["ratio"], "%.2f"), cell(c.s["fsratio"], "%.2f"),
			cell(c.s["sectors"], "%.0f"), cell(c.s["small"], "%.1f"), cell(c.s["cowram"], "%.0f"), cell(c.s["rawram"], "%.0f")})
		var how []string
		for k := range c.ram1 {
			how = append(how, k)
		}
		notes = append(notes, fmt.Sprintf("%s: /dev/ram1 %s", c.name, strings.Join(how, ", ")))
	}
	t.notes = notes
	return []table{t}
}
