package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// table is one result table; notes say how to read it.
type table struct {
	title string
	head  []string
	rows  [][]string
	notes []string
}

func (t table) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", t.title, strings.Repeat("=", len(t.title)))
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(t.head, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
	for _, n := range t.notes {
		fmt.Fprintf(&b, "* %s\n", n)
	}
	return b.String()
}

func (t table) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", t.title)
	row := func(cells []string) {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	row(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = "---"
	}
	row(sep)
	for _, r := range t.rows {
		// Markdown drops leading spaces: keep the sub-row indent visible.
		r = append([]string{strings.Replace(r[0], "  ", "&nbsp;&nbsp;", 1)}, r[1:]...)
		row(r)
	}
	if len(t.notes) > 0 {
		b.WriteString("\n")
	}
	for _, n := range t.notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

// stats summarizes samples: the median, because TCG boots on a shared
// machine have outliers, and the range, so the noise is visible.
type stats struct{ med, min, max float64 }

func summarize(xs []float64) (stats, bool) {
	if len(xs) == 0 {
		return stats{}, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stats{m, s[0], s[len(s)-1]}, true
}

// cell prints "median (min–max)" with the given number format, or "n/a".
func cell(xs []float64, format string) string {
	s, ok := summarize(xs)
	if !ok {
		return "n/a"
	}
	if len(xs) == 1 || s.min == s.max {
		return fmt.Sprintf(format, s.med)
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", s.med, s.min, s.max)
}

// ratio is the ratio of the medians, a over b.
func ratio(a, b []float64) string {
	sa, ok1 := summarize(a)
	sb, ok2 := summarize(b)
	if !ok1 || !ok2 || sb.med == 0 || math.IsNaN(sa.med/sb.med) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", sa.med/sb.med)
}
