package main

import (
	"math"
	"testing"
)

func TestRatioLine(t *testing.T) {
	for _, c := range []struct {
		name, other  string
		ours, theirs float64
		want         string
	}{
		{"init-cost", "recipe", 1.09, 1.04, "ratio init-cost ours/recipe=1.05"},
		{"tree-copy", "ext4-brd", 3, 4, "ratio tree-copy ours/ext4-brd=0.75"},
		{"tree copy", "ext4 brd", 1, 0, "ratio tree-copy ours/ext4-brd=n/a"},
		{"x", "y", math.NaN(), 1, "ratio x ours/y=n/a"},
	} {
		if got := ratioLine(c.name, c.other, c.ours, c.theirs); got != c.want {
			t.Errorf("ratioLine(%q, %q, %v, %v) = %q, want %q", c.name, c.other, c.ours, c.theirs, got, c.want)
		}
	}
	if got := ratioLineMedians("a", "b", []float64{1, 2, 30}, []float64{4}); got != "ratio a ours/b=0.50" {
		t.Errorf("ratioLineMedians: %q", got)
	}
	if got := ratioLineMedians("a", "b", nil, []float64{4}); got != "ratio a ours/b=n/a" {
		t.Errorf("ratioLineMedians with no samples: %q", got)
	}
}
