package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"golang.org/x/sys/unix"
)

func TestSignalVerb(t *testing.T) {
	for sig, want := range map[unix.Signal]string{
		unix.SIGTERM: "reboot", unix.SIGINT: "reboot", unix.SIGUSR2: "poweroff", unix.SIGUSR1: "halt", unix.SIGHUP: "", unix.SIGQUIT: "",
	} {
		if got := signalVerb(sig); got != want {
			t.Errorf("signalVerb(%v) = %q, want %q", sig, got, want)
		}
	}
}

// A panicking goroutine started by goSafe is reported, and the process
// (PID 1, in a boot) lives on: without the recover this test binary dies.
func TestGoSafe(t *testing.T) {
	var out bytes.Buffer
	log := klog.New(&out)
	done := make(chan struct{})
	goSafe(log, "test", func() {
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
