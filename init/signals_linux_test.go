package main

import (
	"testing"

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
