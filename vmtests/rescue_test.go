package vmtests

import (
	"strings"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// TestRescueShell: with a shell in the initramfs and sandbox.onfail=shell, a
// failed boot opens a shell on the console; exiting it powers off.
func TestRescueShell(t *testing.T) {
	t.Parallel()
	rep := initramfsWith(t, func(s *mklive.InitramfsSpec) { s.Shell = mklive.BusyboxBinary })
	c := bootVM(t, vm{initramfs: rep.Path, timeout: 90 * time.Second,
		append: []string{"sandbox.chunk=3", "sandbox.onfail=shell"},
		session: func(s *testvm.Session) {
			if err := s.Expect("(sandbox-init rescue) # "); err != nil {
				t.Errorf("no rescue shell prompt: %v", err)
				s.Stop()
				return
			}
			// The shell has a controlling terminal (tty_nr, field 7 of
			// /proc/PID/stat, is not 0), the serial port itself, so Ctrl-C
			// stops a command. (QEMU's stdio, this harness's console,
			// does not pass a Ctrl-C byte on; a serial socket does.)
			s.SendLine(`echo CTTY=$(cut -d' ' -f7 /proc/self/stat) TTY=$(tty); echo RESCUE-$((6*7)); exit`)
			if err := s.Expect("RESCUE-42"); err != nil {
				t.Errorf("the shell did not run a command: %v", err)
			}
		}})
	if !strings.Contains(c.Text, "TTY=/dev/ttyS0") || strings.Contains(c.Text, "CTTY=0 ") {
		t.Errorf("the rescue shell has no controlling terminal on ttyS0 (Ctrl-C would not work)")
	}
	for _, want := range []string{`FAILED in phase "config"`, "action: poweroff", "reboot: Power down"} {
		if !strings.Contains(c.Text, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}

// TestRescueShellStops: busybox's reboot, poweroff and halt in the rescue
// shell signal PID 1 (SIGTERM, SIGUSR2, SIGUSR1), which Go would otherwise
// exit on: a kernel panic. Each must do what it says.
func TestRescueShellStops(t *testing.T) {
	rep := initramfsWith(t, func(s *mklive.InitramfsSpec) { s.Shell = mklive.BusyboxBinary })
	for _, tc := range []struct{ cmd, want string }{
		{"reboot", "reboot: Restarting system"},
		{"poweroff", "reboot: Power down"},
		{"halt", "reboot: System halted"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			t.Parallel()
			c := bootVM(t, vm{initramfs: rep.Path, timeout: 90 * time.Second,
				append: []string{"sandbox.chunk=3", "sandbox.onfail=shell"},
				session: func(s *testvm.Session) {
					defer s.Stop() // halt leaves the machine on
					if err := s.Expect("(sandbox-init rescue) # "); err != nil {
						t.Errorf("no rescue shell prompt: %v", err)
						return
					}
					s.SendLine(tc.cmd)
					if err := s.Expect(tc.want); err != nil {
						t.Errorf("%s did not end in %q: %v", tc.cmd, tc.want, err)
					}
				}})
			for _, bad := range []string{"Kernel panic", "Attempted to kill init"} {
				if c.Contains(bad) {
					t.Errorf("console shows %q", bad)
				}
			}
			if !c.Contains("sandbox-init: ") || !strings.Contains(c.Text, "received: "+tc.cmd) {
				t.Errorf("sandbox-init did not say it got the signal for %s", tc.cmd)
			}
		})
	}
}
