package vmtests

import (
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// The consoles a Live CD's command line gives (mklive writes them): the
// PC's screen and the serial port, /dev/console being the last.
var pcConsoles = []string{"console=tty0", "console=ttyS0"}

// TestScreenShowsFailure: on a PC with a monitor, a failed boot's report
// is on the screen, not only on the serial port, and once on each.
func TestScreenShowsFailure(t *testing.T) {
	t.Parallel()
	c := bootVM(t, vm{kernel: testvm.Std12, append: append(pcConsoles, "sandbox.wait=1", "sandbox.onfail=halt"),
		screen: "sandbox-init:   halted"})
	t.Logf("screen:\n%s", c.Screen)
	for _, want := range []string{`sandbox-init: FAILED in phase "cd"`, "sandbox-init:   hint: ", "sandbox-init:   action: halt"} {
		if !strings.Contains(c.Screen, want) {
			t.Errorf("the screen lacks %q", want)
		}
		if n := c.Count(want); n != 1 {
			t.Errorf("the serial console shows %q %d times, want once", want, n)
		}
	}
}

// TestScreenShowsProgress: a good boot's progress lines are on the screen
// as well as on the serial port.
func TestScreenShowsProgress(t *testing.T) {
	t.Parallel()
	c := bootVM(t, vm{kernel: testvm.Std12, append: append(pcConsoles, "guest=hold"),
		drives: []testvm.Drive{{File: built.cdISO, Bus: testvm.IDE, CD: true}}, screen: "GUEST hold"})
	t.Logf("screen:\n%s", c.Screen)
	// The screen holds the last 25 lines: on a loaded host the kernel's
	// clocksource complaints can push the snapshot's line off the top, so
	// the lines checked are the boot's last.
	for _, want := range []string{"sandbox-init: /dev/mapper/sandbox mounted read-write on /newroot", "sandbox-init: switch_root to /newroot"} {
		if !strings.Contains(c.Screen, want) {
			t.Errorf("the screen lacks %q", want)
		}
		if n := c.Count(want); n != 1 {
			t.Errorf("the serial console shows %q %d times, want once", want, n)
		}
	}
}
