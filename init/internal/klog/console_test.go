package klog

import (
	"reflect"
	"testing"
)

func TestParseActiveConsoles(t *testing.T) {
	for in, want := range map[string][]string{
		"tty0 ttyS0\n":        {"tty0", "ttyS0"},
		"ttyS0\n":             {"ttyS0"},
		"tty0,ttyS0":          {"tty0", "ttyS0"}, // the watcher's argument
		"ttyS0 ttyS0 hvc0\n":  {"ttyS0", "hvc0"},
		"../etc/passwd ttyS1": {"ttyS1"},
		".. . ttyAMA0":        {"ttyAMA0"},
		"":                    nil,
		"\n":                  nil,
	} {
		if got := ParseActiveConsoles(in); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseActiveConsoles(%q) = %q, want %q", in, got, want)
		}
	}
}
