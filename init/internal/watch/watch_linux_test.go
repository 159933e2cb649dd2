package watch

import (
	"testing"
	"time"
)

func TestNextLook(t *testing.T) {
	const every = time.Second
	for _, tc := range []struct {
		name        string
		used, total uint64
		rate, level float64
		want        time.Duration
	}{
		{"idle", 100, 1000, 0, 80, every},
		{"slow writer", 100, 1000, 10, 80, every},                   // 70 s to go
		{"fast writer", 700, 1000, 100, 80, 333 * time.Millisecond}, // 1 s to go: a third
		{"very fast", 790, 1000, 10000, 80, 10 * time.Millisecond},
		{"past the level", 900, 1000, 100, 80, 10 * time.Millisecond},
		{"no size yet", 0, 0, 100, 80, every},
	} {
		got := nextLook(every, tc.used, tc.total, tc.rate, tc.level)
		if d := got - tc.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s: nextLook = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The rate spans the last second of looks, so a look that sees no growth
// right after a burst does not read as a stopped writer.
func TestFillRate(t *testing.T) {
	var f fillRate
	t0 := time.Unix(1000, 0)
	if r := f.add(t0, 100); r != 0 {
		t.Errorf("first look: rate %v", r)
	}
	if r := f.add(t0.Add(500*time.Millisecond), 600); r != 1000 {
		t.Errorf("after 500 sectors in 0.5 s: rate %v, want 1000", r)
	}
	if r := f.add(t0.Add(550*time.Millisecond), 600); r < 900 {
		t.Errorf("a look with no growth after a burst: rate %v, want about 1000", r)
	}
	// Three seconds of nothing: the rate falls to zero.
	f.add(t0.Add(2*time.Second), 600)
	if r := f.add(t0.Add(3500*time.Millisecond), 600); r != 0 {
		t.Errorf("an idle store: rate %v", r)
	}
	if len(f.t) > 3 {
		t.Errorf("looks kept: %d", len(f.t))
	}
}
