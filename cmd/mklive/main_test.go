package main

import (
	"strings"
	"testing"
)

// A bad -container stops iso, netboot and demo at once, with the values that work,
// before anything is built.
func TestBadContainer(t *testing.T) {
	dir := t.TempDir()
	for name, cmd := range map[string]func([]string) error{"iso": cmdISO, "netboot": cmdNetboot, "demo": cmdDemo} {
		args := []string{"-container", "lz4", "-kernel", dir + "/no-kernel", "-o", dir + "/out"}
		if name != "demo" {
			args = append(args, "-root", dir)
		}
		err := cmd(args)
		if err == nil || !strings.Contains(err.Error(), `-container "lz4": want zstd, xz or none`) {
			t.Errorf("%s -container lz4: %v", name, err)
		}
	}
}
