package pid1

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestSignalVerb(t *testing.T) {
	for sig, want := range map[unix.Signal]string{
		unix.SIGTERM: "reboot", unix.SIGINT: "reboot", unix.SIGUSR2: "poweroff", unix.SIGUSR1: "halt", unix.SIGHUP: "", unix.SIGQUIT: "",
	} {
		if got := SignalVerb(sig); got != want {
			t.Errorf("SignalVerb(%v) = %q, want %q", sig, got, want)
		}
	}
}
