package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sandbox-init/sandbox-init/init/internal/bootchain"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"github.com/sandbox-init/sandbox-init/state"
	"golang.org/x/sys/unix"
)

// Where the kernel's interfaces are, and the variables' vendor GUIDs: the
// global variables' and systemd's loader interface's (the stub's).
const (
	efivarsDir    = "/sys/firmware/efi/efivars"
	securityDir   = "/sys/kernel/security"
	efiGlobal     = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
	systemdVendor = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
)

// readBootChain records what verified this boot (state.json's
// boot_chain) and logs it. It never fails the boot: what it cannot read
// it reports. efivarfs and securityfs stay mounted where systemd mounts
// them, for the booted system (enrolling keys from Linux writes efivarfs).
func readBootChain(s *sandbox) error {
	b := &state.BootChain{}
	s.state.BootChain = b
	if lock, err := lockdown(s); err == nil {
		b.Lockdown = lock
	}
	if !uefiBoot() {
		s.log.Printf("boot chain: %s", bootchain.Summary(*b))
		return nil
	}
	b.UEFI = true
	if err := mountEfivars(s); err != nil {
		b.SecureBoot = "unknown: efivarfs: " + err.Error()
		s.log.Printf("boot chain: %s", bootchain.Summary(*b))
		return nil
	}
	sb, err := os.ReadFile(filepath.Join(efivarsDir, "SecureBoot-"+efiGlobal))
	setup, _ := os.ReadFile(filepath.Join(efivarsDir, "SetupMode-"+efiGlobal))
	b.SecureBoot = bootchain.SecureBootState(sb, setup)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		b.SecureBoot = "unknown: " + err.Error()
	}
	if info, err := os.ReadFile(filepath.Join(efivarsDir, "StubInfo-"+systemdVendor)); err == nil {
		b.Stub = bootchain.EFIString(info)
	}
	b.CmdlineSigned = b.SecureBoot == bootchain.SBOn && b.Stub != ""
	s.log.Printf("boot chain: %s", bootchain.Summary(*b))
	return nil
}

// uefiBoot says whether the firmware is UEFI (the kernel has its runtime
// services).
func uefiBoot() bool {
	_, err := os.Stat("/sys/firmware/efi")
	return err == nil
}

// mountEfivars mounts efivarfs (its module from the initramfs when the
// kernel lacks it) unless it is mounted.
func mountEfivars(s *sandbox) error {
	var st unix.Statfs_t
	if unix.Statfs(efivarsDir, &st) == nil && st.Type == unix.EFIVARFS_MAGIC {
		return nil
	}
	if _, err := s.fsModule("efivarfs"); err != nil {
		return err
	}
	return mountutil.Mount("efivarfs", efivarsDir, "efivarfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// lockdown reads the kernel's lockdown mode from securityfs.
func lockdown(s *sandbox) (string, error) {
	f := filepath.Join(securityDir, "lockdown")
	if _, err := os.Stat(f); err != nil {
		if err := mountutil.Mount("securityfs", securityDir, "securityfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return "", err
		}
	}
	b, err := os.ReadFile(f)
	return bootchain.LockdownMode(string(b)), err
}
