package bootchain

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/sandbox-init/sandbox-init/state"
)

func TestSecureBootState(t *testing.T) {
	attr := []byte{6, 0, 0, 0}
	v := func(b byte) []byte { return append(append([]byte{}, attr...), b) }
	for _, tc := range []struct {
		sb, setup []byte
		want      string
	}{
		{v(1), v(0), SBOn},
		{v(0), v(1), SBSetup},
		{v(0), v(0), SBOff},
		{v(0), nil, SBOff},
		{nil, nil, SBOff}, // a firmware without Secure Boot
		{attr, v(0), "unknown: a SecureBoot variable without its value"},
	} {
		if got := SecureBootState(tc.sb, tc.setup); got != tc.want {
			t.Errorf("SecureBootState(%v, %v) = %q, want %q", tc.sb, tc.setup, got, tc.want)
		}
	}
}

func TestEFIString(t *testing.T) {
	// StubInfo as systemd-stub 252 sets it: attributes (boot and runtime
	// access), UTF-16LE, a final NUL.
	b := []byte{6, 0, 0, 0}
	for _, c := range utf16.Encode([]rune("systemd-stub 252.39-1~deb12u2\x00")) {
		b = append(b, byte(c), byte(c>>8))
	}
	if got := EFIString(b); got != "systemd-stub 252.39-1~deb12u2" {
		t.Errorf("EFIString = %q", got)
	}
	if got := EFIString([]byte{6, 0}); got != "" {
		t.Errorf("EFIString of a short file = %q", got)
	}
}

func TestLockdownMode(t *testing.T) {
	for in, want := range map[string]string{
		"none [integrity] confidentiality\n": "integrity",
		"[none] integrity confidentiality\n": "none",
		"":                                   "",
	} {
		if got := LockdownMode(in); got != want {
			t.Errorf("LockdownMode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBootChainSummary(t *testing.T) {
	for _, tc := range []struct {
		b    state.BootChain
		want []string
	}{
		{state.BootChain{}, []string{"not verified: a BIOS boot"}},
		{state.BootChain{UEFI: true, SecureBoot: SBSetup, Lockdown: "none"}, []string{"not verified: UEFI Secure Boot setup mode, kernel lockdown: none", "as the boot loader passed it"}},
		{state.BootChain{UEFI: true, SecureBoot: SBOn, Lockdown: "integrity", Stub: "systemd-stub 252", CmdlineSigned: true},
			[]string{"verified: UEFI Secure Boot on, kernel lockdown: integrity; a signed unified kernel image (systemd-stub 252)", "root hash with it"}},
		{state.BootChain{UEFI: true, SecureBoot: SBOn, Lockdown: "integrity"}, []string{"partly verified", "not the initramfs nor the command line"}},
		{state.BootChain{UEFI: true, SecureBoot: "unknown: efivarfs: no module", Lockdown: "integrity"}, []string{"unknown: UEFI, Secure Boot unknown: efivarfs: no module, kernel lockdown: integrity"}},
	} {
		got := Summary(tc.b)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("summary of %+v = %q, lacks %q", tc.b, got, w)
			}
		}
	}
}
