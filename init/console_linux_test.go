package main

import (
	"reflect"
	"testing"
)

func TestIsVT(t *testing.T) {
	for in, want := range map[string]bool{"tty0": true, "tty1": true, "tty12": true, "ttyS0": false, "tty": false, "hvc0": false, "ttyUSB0": false} {
		if isVT(in) != want {
			t.Errorf("isVT(%q) = %v", in, !want)
		}
	}
}

func TestShellPlaces(t *testing.T) {
	for _, tc := range []struct {
		consoles []string
		fg       string
		noScreen bool
		want     []shellPlace
	}{
		// A PC with a monitor and a serial port: both.
		{[]string{"tty0", "ttyS0"}, "tty1", false, []shellPlace{{"/dev/tty1", "tty1 (the screen)"}, {"/dev/ttyS0", "ttyS0"}}},
		{[]string{"tty0", "ttyS0"}, "tty3", false, []shellPlace{{"/dev/tty3", "tty3 (the screen)"}, {"/dev/ttyS0", "ttyS0"}}},
		{[]string{"tty0", "ttyS0"}, "", false, []shellPlace{{"/dev/tty1", "tty1 (the screen)"}, {"/dev/ttyS0", "ttyS0"}}},
		// /dev/console is the screen: the serial port by its own name.
		{[]string{"ttyS0", "tty0"}, "tty1", false, []shellPlace{{"/dev/tty1", "tty1 (the screen)"}, {"/dev/ttyS0", "ttyS0"}}},
		{[]string{"ttyS0", "tty2"}, "tty1", false, []shellPlace{{"/dev/tty2", "tty2 (the screen)"}, {"/dev/ttyS0", "ttyS0"}}},
		// One console.
		{[]string{"tty0"}, "garbage", false, []shellPlace{{"/dev/tty1", "tty1 (the screen)"}}},
		{[]string{"ttyS0"}, "tty1", false, []shellPlace{{"/dev/ttyS0", "ttyS0"}}},
		{[]string{"hvc0", "ttyS1"}, "", false, []shellPlace{{"/dev/ttyS1", "ttyS1"}}},
		{nil, "", false, []shellPlace{{"/dev/console", "the console"}}},
		// No display: the VT leads nowhere.
		{[]string{"tty0", "ttyS0"}, "tty1", true, []shellPlace{{"/dev/ttyS0", "ttyS0"}}},
		{[]string{"ttyS0", "tty0"}, "tty1", true, []shellPlace{{"/dev/ttyS0", "ttyS0"}}},
		{[]string{"tty0"}, "tty1", true, []shellPlace{{"/dev/console", "tty0"}}},
	} {
		if got := shellPlaces(tc.consoles, tc.fg, !tc.noScreen); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shellPlaces(%q, %q, screen %v) = %q, want %q", tc.consoles, tc.fg, !tc.noScreen, got, tc.want)
		}
	}
}

func TestHasScreen(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  bool
	}{
		{nil, true},
		{[]string{"(S) dummy device"}, false},
		{[]string{"(S) dummy device", "(M) frame buffer device"}, true},
		{[]string{"(S) VGA+"}, true},
	} {
		if got := hasScreen(tc.names); got != tc.want {
			t.Errorf("hasScreen(%q) = %v", tc.names, got)
		}
	}
}
