package main

import (
	"strings"
)

// isVT tells whether a console name is a virtual terminal, the screen and
// keyboard: tty0 (the foreground one) or ttyN.
func isVT(name string) bool {
	digits, ok := strings.CutPrefix(name, "tty")
	if !ok || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// shellPlace is a terminal the rescue shell runs on, and how to name it
// to people.
type shellPlace struct{ path, where string }

// shellPlaces chooses where rescue shells run: where a person can type.
//
//   - On the screen, when one of the consoles is a VT and there is a
//     screen (see hasScreen): tty0 stands for the foreground VT, fgVT
//     (/sys/class/tty/tty0/active, tty1 at boot), on which the shell gets a
//     real terminal of its own.
//   - On the serial console too, when there is one besides: mklive's Live
//     CDs say console=tty0 console=ttyS0, and under qemu -nographic, or on
//     a server behind a serial line, the screen is there but nobody sees
//     it. That is /dev/console when it is not the VT, else the last other
//     console's device.
//   - On /dev/console when there is neither.
func shellPlaces(consoles []string, fgVT string, screen bool) []shellPlace {
	var out []shellPlace
	for _, c := range consoles {
		if !isVT(c) || !screen {
			continue
		}
		if c == "tty0" {
			c = "tty1"
			if isVT(fgVT) && fgVT != "tty0" {
				c = fgVT
			}
		}
		out = append(out, shellPlace{"/dev/" + c, c + " (the screen)"})
		break
	}
	// The serial port by its own name, never /dev/console: a shell there
	// gets no controlling terminal (the kernel refuses /dev/console as
	// one), so Ctrl-C would not reach the command it runs.
	for i := len(consoles) - 1; i >= 0; i-- {
		if c := consoles[i]; !isVT(c) {
			return append(out, shellPlace{"/dev/" + c, c})
		}
	}
	if len(out) == 0 {
		where := "the console"
		if len(consoles) > 0 {
			where = consoles[len(consoles)-1]
		}
		out = append(out, shellPlace{"/dev/console", where})
	}
	return out
}

// hasScreen tells, from the names of the VT console drivers
// (/sys/class/vtconsole/vtcon*/name: "(S) VGA+", "(M) frame buffer
// device", "(S) dummy device"), whether the VTs show on a display: a
// server without one has only the dummy driver, and console=tty0 (as cloud
// images give it) then leads nowhere a person can type. Unknown (no names)
// counts as a screen.
func hasScreen(names []string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if !strings.Contains(n, "dummy") {
			return true
		}
	}
	return false
}
