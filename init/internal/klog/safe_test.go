package klog

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A panicking goroutine started by GoSafe is reported, and the process
// (PID 1, in a boot) lives on: without the recover this test binary dies.
func TestGoSafe(t *testing.T) {
	var out bytes.Buffer
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
	time.Sleep(50 * time.Millisecond) // the report is written after the deferred close
	if !strings.Contains(out.String(), "internal error in test") || !strings.Contains(out.String(), "nil map") {
		t.Errorf("the panic was not reported: %q", out.String())
	}
}
