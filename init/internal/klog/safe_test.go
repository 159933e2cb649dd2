package klog

import (
	"strings"
	"testing"
	"time"
)

// A panicking goroutine started by GoSafe is reported, and the process
// (PID 1, in a boot) lives on: without the recover this test binary dies.
func TestGoSafe(t *testing.T) {
	var out lockedBuffer // GoSafe's goroutine writes it while the test reads
	log := New(&out)
	done := make(chan struct{})
	GoSafe(log, "test", func() {
		defer close(done)
		var m map[string]int
		m["boom"] = 1 // a nil-map write panics
	})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the goroutine's cleanup did not run")
	}
	// The report is written after the deferred close: wait for it.
	reported := func() bool {
		return strings.Contains(out.String(), "internal error in test") && strings.Contains(out.String(), "nil map")
	}
	for end := time.Now().Add(5 * time.Second); !reported() && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	if !reported() {
		t.Errorf("the panic was not reported: %q", out.String())
	}
}
