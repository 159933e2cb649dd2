// Package bootchain reads what verified the boot (Secure Boot, lockdown,
// a signed unified kernel image) from the firmware's and the kernel's
// words, and says it in one line: the boot logs it and sandbox-init status
// prints it from state.json.
package bootchain

import (
	"strings"
	"unicode/utf16"

	"github.com/sandbox-init/sandbox-init/state"
)

// The Secure Boot states of state.BootChain.
const (
	SBOn    = "on"
	SBOff   = "off"
	SBSetup = "setup mode"
)

// SecureBootState reads the firmware's SecureBoot and SetupMode variables
// as efivarfs gives them (4 bytes of attributes, then a byte): on only
// when the firmware enforces signatures. No SecureBoot variable (nil) is a
// firmware without Secure Boot (UEFI's rule): off.
func SecureBootState(secureBoot, setupMode []byte) string {
	switch {
	case len(secureBoot) == 0:
		return SBOff
	case len(secureBoot) < 5:
		return "unknown: a SecureBoot variable without its value"
	case secureBoot[4] == 1:
		return SBOn
	case len(setupMode) >= 5 && setupMode[4] == 1:
		return SBSetup
	}
	return SBOff
}

// EFIString decodes an efivarfs file holding a UTF-16LE string (the stub's
// variables), without its attributes and its final NUL.
func EFIString(b []byte) string {
	if len(b) < 4 {
		return ""
	}
	b = b[4:]
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := uint16(b[i]) | uint16(b[i+1])<<8
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// LockdownMode picks the kernel's lockdown mode out of securityfs's
// "none [integrity] confidentiality".
func LockdownMode(s string) string {
	if _, after, ok := strings.Cut(s, "["); ok {
		mode, _, _ := strings.Cut(after, "]")
		return mode
	}
	return ""
}

// Summary is the boot chain in one line, for the boot log and
// sandbox-init status: which bytes the firmware verified, and whether
// sandbox.verity's root hash was among them.
func Summary(b state.BootChain) string {
	if !b.UEFI {
		return "not verified: a BIOS boot (no UEFI): nothing checked the kernel, the initramfs or the command line"
	}
	lock := ""
	if b.Lockdown != "" {
		lock = ", kernel lockdown: " + b.Lockdown
	}
	switch {
	case strings.HasPrefix(b.SecureBoot, "unknown"):
		return "unknown: UEFI, Secure Boot " + b.SecureBoot + lock + " (an initramfs from mklive iso -uki has efivarfs)"
	case b.SecureBoot != SBOn:
		return "not verified: UEFI Secure Boot " + b.SecureBoot + lock + ": the firmware checked nothing; the command line (sandbox.verity's root hash) is as the boot loader passed it (from the medium or the network)"
	case b.CmdlineSigned:
		return "verified: UEFI Secure Boot on" + lock + "; a signed unified kernel image (" + b.Stub + "): the firmware checked its signature over the kernel, the initramfs and the command line, sandbox.verity's root hash with it"
	}
	return "partly verified: UEFI Secure Boot on" + lock + "; no unified kernel image: the boot loaders and the kernel were checked, not the initramfs nor the command line (sandbox.verity's root hash)"
}
