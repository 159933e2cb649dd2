package vmtests

import (
	"regexp"
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

// TestScreenShowsNetFailure: a network boot that fails (the image is not
// on the web server: HTTP 404), on a PC with a monitor, on Debian 12's
// standard kernel with an e1000e card: the phase, the URL and the fix are
// on the screen, once on the serial port; and so is the warning that a
// plain-HTTP image without sandbox.verity is checked by nothing. With
// quiet, as a desktop's boot entry has it: the kernel's own lines stay off
// the 25 rows (they could push the warning off the top), ours do not.
func TestScreenShowsNetFailure(t *testing.T) {
	t.Parallel()
	n := netSite{dir: t.TempDir()}.busybox() // an empty web root
	n.Model = "e1000e"
	url := netServer + "/LiveOS/nothing.img"
	v := netVM(testvm.Std12, []testvm.Net{n}, append(pcConsoles, "quiet", "sandbox.url="+url, "sandbox.onfail=halt")...)
	v.screen = "sandbox-init:   halted"
	c := bootVM(t, v)
	t.Logf("screen:\n%s", c.Screen)
	screen := unwrapScreen(c.Screen)
	for _, want := range []string{
		"sandbox-init: WARNING: net: sandbox.url without sandbox.verity over plain HTTP: nothing checks the image from " + url + "; anyone on the way can change it (give the root hash mklive printed, or use https://)",
		`sandbox-init: FAILED in phase "net"`,
		"sandbox-init:   device: " + url,
		"HTTP 404",
		"sandbox-init:   hint: the file is not on the server at that path",
		"sandbox-init:   action: halt",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q", want)
		}
		if n := c.Count(want); n != 1 {
			t.Errorf("the serial console shows %q %d times, want once", want, n)
		}
	}
}

// unwrapScreen joins the screen's rows that a longer line filled to the
// last column with the row that goes on with it, and drops the kernel's
// timestamps ("[   12.345678] "), so that a console line can be looked
// for whole.
func unwrapScreen(screen string) string {
	var b strings.Builder
	for _, row := range strings.Split(screen, "\n") {
		b.WriteString(row)
		if len([]rune(row)) < 80 {
			b.WriteByte('\n')
		}
	}
	return timestamp.ReplaceAllString(b.String(), "")
}

var timestamp = regexp.MustCompile(`(?m)^\[ *[0-9]+\.[0-9]+\] `)
