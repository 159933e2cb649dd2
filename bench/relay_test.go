package main

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// TestPace: 2 MiB at 40 Mbit/s take about 0.42 s (2 MiB × 8 / 40e6), not
// the instant an unpaced copy takes, and arrive whole.
func TestPace(t *testing.T) {
	src := bytes.Repeat([]byte("sandbox!"), 2<<20/8)
	var dst bytes.Buffer
	start := time.Now()
	n, took, err := pace(&dst, io.NopCloser(bytes.NewReader(src)), 40_000_000)
	wall := time.Since(start)
	if err != nil || n != int64(len(src)) || !bytes.Equal(dst.Bytes(), src) {
		t.Fatalf("pace copied %d of %d bytes (%v)", n, len(src), err)
	}
	want := time.Duration(float64(len(src)) * 8 / 40e6 * float64(time.Second))
	if wall < want-relayBurst || took < want-2*relayBurst {
		t.Errorf("2 MiB at 40 Mbit/s in %v (measured %v): want at least %v", wall, took, want-relayBurst)
	}
	if wall > 3*want {
		t.Errorf("2 MiB at 40 Mbit/s in %v: want about %v", wall, want)
	}
}
