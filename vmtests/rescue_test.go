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
			s.SendLine("echo RESCUE-$((6*7)); exit")
			if err := s.Expect("RESCUE-42"); err != nil {
				t.Errorf("the shell did not run a command: %v", err)
			}
		}})
	for _, want := range []string{`FAILED in phase "config"`, "action: poweroff", "reboot: Power down"} {
		if !strings.Contains(c.Text, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}
