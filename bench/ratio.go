package main

import (
	"fmt"
	"math"
	"strings"
)

// ratioLine is one of the lines printed after the tables for scripts:
// "ratio NAME ours/OTHER=X", X = ours/other to two decimals, or "n/a" when
// either is missing (NaN) or other is 0. What X means (a time ratio, lower
// is better, or a throughput ratio, higher is better) is the table's to say.
//
//	ratioLine("init-cost", "recipe", 1.09, 1.04) == "ratio init-cost ours/recipe=1.05"
func ratioLine(name, other string, ours, theirs float64) string {
	x := "n/a"
	if r := ours / theirs; theirs != 0 && !math.IsNaN(r) && !math.IsInf(r, 0) {
		x = fmt.Sprintf("%.2f", r)
	}
	return fmt.Sprintf("ratio %s ours/%s=%s", strings.ReplaceAll(name, " ", "-"), strings.ReplaceAll(other, " ", "-"), x)
}

// ratioLineMedians is ratioLine of two sample sets' medians.
func ratioLineMedians(name, other string, ours, theirs []float64) string {
	return ratioLine(name, other, median(ours), median(theirs))
}

// median is the samples' median, NaN for none.
func median(xs []float64) float64 {
	s, ok := summarize(xs)
	if !ok {
		return math.NaN()
	}
	return s.med
}
