package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testca"
)

// TestTLSChecks: what would fail only at boot fails the build, before
// anything is built: an https:// tree without a CA bundle, a bundle with
// an init built without TLS (a script, or this test binary), a bundle
// that is missing or holds no certificate (before the init is looked at).
func TestTLSChecks(t *testing.T) {
	k := liveKernel(t)
	script := filepath.Join(t.TempDir(), "init")
	writeFile(t, script, []byte("#!/bin/sh\n"))
	ca, err := testca.New("Test CA")
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, bundle, ca.PEM)
	empty := filepath.Join(t.TempDir(), "empty.pem")
	writeFile(t, empty, []byte("# no certificate\n"))
	for _, tc := range []struct {
		name, url, ca, init, want string
	}{
		{"https without -ca", "https://boot.lan/live", "", script, "sandbox.url is https://: give -ca FILE"},
		{"-ca with a script", "https://boot.lan/live", bundle, script, "was built without TLS (go build -tags tls)"},
		{"-ca with an init without TLS", "http://boot.lan/live", bundle, os.Args[0], "was built without TLS"},
		{"-ca with no such file", "http://boot.lan/live", "/nonexistent/ca.pem", os.Args[0], "CA bundle: open /nonexistent/ca.pem: no such file or directory"},
		{"-ca with a file of no certificate", "http://boot.lan/live", empty, os.Args[0], "CA bundle: no PEM certificate in it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "www")
			err := Netboot(NetbootSpec{URL: tc.url, LiveCDSpec: LiveCDSpec{Kernel: k, Init: tc.init, Root: out, CA: tc.ca, Out: out}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Netboot: %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(out, "initrd.img")); err == nil {
				t.Error("the tree was built")
			}
		})
	}
	if _, err := (InitramfsSpec{Init: script, CA: empty}).programs(); err == nil || !strings.Contains(err.Error(), "CA bundle: no PEM certificate") {
		t.Errorf("a bundle without a certificate: %v", err)
	}
}

// TestInitTags: a CD's init goes without the network, a network boot's
// has it, and -ca adds TLS.
func TestInitTags(t *testing.T) {
	for _, tc := range []struct {
		network  bool
		ca, want string
	}{{false, "", "[nonet]"}, {true, "", "[]"}, {true, "ca.pem", "[tls]"}, {false, "ca.pem", "[tls]"}} {
		if got := fmt.Sprint(InitTags(tc.network, tc.ca)); got != tc.want {
			t.Errorf("InitTags(%v, %q) = %s, want %s", tc.network, tc.ca, got, tc.want)
		}
	}
}
