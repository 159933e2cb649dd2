package testvm

import (
	"fmt"
	"os"
	"path/filepath"
)

// The Debian ovmf package's Secure Boot firmware: the code built with
// Secure Boot and SMM, and variables with Microsoft's keys enrolled (KEK,
// and db: the Windows and UEFI CA certificates) and Secure Boot on.
const (
	OVMFSecureCode = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
	OVMFMSVars     = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
	// OVMFSetupVars are variables with no keys: the firmware starts in
	// setup mode (Secure Boot off), where an OS may enroll its own.
	OVMFSetupVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// SecureBootFirmware returns QEMU's arguments for a q35 machine booting
// OVMF with Secure Boot enforced and Microsoft's keys, its variables a
// writable copy in dir. The firmware's code is protected by SMM, which
// q35 must have on; no network card is given.
func SecureBootFirmware(dir string) ([]string, error) {
	for _, f := range []string{OVMFSecureCode, OVMFMSVars} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("Secure Boot firmware: %w (the Debian package ovmf has it; scripts/setup.sh installs it)", err)
		}
	}
	vars := filepath.Join(dir, "OVMF_VARS.fd")
	if err := CopyFile(OVMFMSVars, vars); err != nil {
		return nil, err
	}
	if err := os.Chmod(vars, 0o644); err != nil {
		return nil, err
	}
	return SecureBootFirmwareVars(vars), nil
}

// SecureBootFirmwareVars is SecureBootFirmware with a variable store of
// the caller's, which the machine writes to (keys it enrolls, boot
// entries): a copy of OVMFSetupVars to start in setup mode.
func SecureBootFirmwareVars(vars string) []string {
	return []string{
		"-machine", "q35,smm=on",
		"-global", "driver=cfi.pflash01,property=secure,value=on",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFSecureCode,
		"-drive", "if=pflash,format=raw,unit=1,file=" + vars,
		"-nic", "none",
	}
}
