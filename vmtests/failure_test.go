package vmtests

import (
	"strings"
	"testing"
)

// Each failing boot must name the phase, the device or parameter, give a
// hint, take the configured action (poweroff here), and never panic.
func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v      vm
		phase  string
		expect []string // more text the console must show
		// before is a progress line the console must show before the
		// failure block: the lines queued for the consoles are written,
		// in order, before it (klog's Async, flushed by onFailure).
		before string
	}{
		{
			name:  "NoCD",
			v:     vm{append: []string{"sandbox.wait=1"}},
			phase: "cd",
			// QEMU always has an IDE CD drive: here it is empty.
			expect: []string{"device: auto", "no drive or disk among /dev/sr0 holds an ISO 9660 disc within 1s", "hint: insert the Live CD"},
		},
		{
			name:   "NoDrive",
			v:      vm{append: []string{"sandbox.wait=1"}, qemu: []string{"-nodefaults", "-serial", "mon:stdio"}},
			phase:  "cd",
			expect: []string{"device: auto", "no CD drive or disk appeared within 1s", "hint: attach a CD drive"},
		},
		{
			name:   "WrongLabel",
			v:      vm{append: []string{"sandbox.wait=1", "sandbox.cd=LABEL=OTHER"}, qemu: []string{"-cdrom", "CD"}},
			phase:  "cd",
			expect: []string{"device: LABEL=OTHER", `no disc labelled "OTHER" among /dev/sr0 within 1s`},
		},
		{
			name:   "NoImage",
			v:      vm{append: []string{"sandbox.image=/no/such/image"}, qemu: []string{"-cdrom", "CD"}},
			phase:  "image",
			expect: []string{"device: /dev/sr0", "no /no/such/image on the CD", "the CD has: /initrd-ext2"},
			before: "sandbox-init: CD found: /dev/sr0",
		},
		{
			name:   "BadParameters",
			v:      vm{append: []string{"sandbox.chunk=3", "sandbox.cowsize=lots", "sandbox.bogus=1"}, qemu: []string{"-cdrom", "CD"}},
			phase:  "config",
			expect: []string{`sandbox.chunk="3" is not a power of two`, `sandbox.cowsize="lots" is not a size`, `sandbox.bogus="1" is not a sandbox-init parameter`},
		},
		{
			name:   "MissingInit",
			v:      vm{append: []string{"init=/sbin/nothere"}, qemu: []string{"-cdrom", "CD"}},
			phase:  "switch_root",
			expect: []string{"init /sbin/nothere not found in the new root"},
			before: "sandbox-init: boot chain: ",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for i, a := range tc.v.qemu {
				if a == "CD" {
					tc.v.qemu[i] = built.cdISO
				}
			}
			c := expectFailure(t, tc.v, tc.phase, tc.expect...)
			if tc.before != "" {
				at, fail := strings.Index(c.Text, tc.before), strings.Index(c.Text, "sandbox-init: FAILED in phase")
				if at < 0 || fail >= 0 && at > fail {
					t.Errorf("the console lacks %q before the failure block (at %d, the block at %d)", tc.before, at, fail)
				}
			}
		})
	}
}
