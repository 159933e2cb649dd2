package mklive

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/kmod"
)

// TestInitDeps keeps heavy packages out of the inits that do not use
// them: each one is bytes of every initramfs and code the emulated CPU
// translates at the start (docs/bench.md, start). A CD's init (NoNetTag)
// has no network code (DHCP, netlink), no TLS and no regexp (package diag
// matches the kernel's lines by hand; u-root's DHCP client, in the network
// inits, uses regexp); no init has net/http, templates or encoding/json
// (package state writes and reads its JSON by hand: encoding/json's
// reflection was ~127 KB of the compressed init, and its first run a
// state step of ~27 ms under TCG).
func TestInitDeps(t *testing.T) {
	never := []string{"net/http", "text/template", "html/template", "encoding/json"}
	for _, c := range []struct {
		tags       string
		want, lack []string
	}{
		{NoNetTag, []string{"crypto/sha256"}, append([]string{"github.com/vishvananda/netlink", "github.com/u-root/u-root/pkg/dhclient", "crypto/tls", "regexp"}, never...)},
		{"", []string{"github.com/vishvananda/netlink"}, append([]string{"crypto/tls"}, never...)},
		{TLSTag, []string{"crypto/tls"}, never},
	} {
		out, err := exec.Command("go", "list", "-deps", "-tags="+c.tags, "../init").Output()
		if err != nil {
			t.Fatalf("go list -tags=%s: %v", c.tags, err)
		}
		deps := strings.Fields(string(out))
		for _, p := range c.want {
			if !slices.Contains(deps, p) {
				t.Errorf("init -tags=%q does not link %s: is the list of packages right?", c.tags, p)
			}
		}
		for _, p := range c.lack {
			if slices.Contains(deps, p) {
				t.Errorf("init -tags=%q links %s", c.tags, p)
			}
		}
	}
}

// TestCompanionModules: hid_generic goes in with usbhid, not without it
// (the cloud kernel's case: no USB, so nothing it could drive).
func TestCompanionModules(t *testing.T) {
	for _, withUSB := range []bool{true, false} {
		d := &kmod.Deps{Path: map[string]string{"hid": "hid.ko", "hid_generic": "hid-generic.ko", "loop": "loop.ko"},
			Need: map[string][]string{"hid_generic": {"hid"}, "usbhid": {"hid"}}, Builtin: map[string]bool{}}
		if withUSB {
			d.Path["usbhid"] = "usbhid.ko"
		}
		got, err := InitramfsSpec{Required: []string{"loop"}, Optional: []string{"usbhid", "hid_generic"}}.closure(d)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, "hid_generic") != withUSB || slices.Contains(got, "hid") != withUSB {
			t.Errorf("usbhid there: %v; modules %q", withUSB, got)
		}
	}
}
