package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sandbox-init/sandbox-init/config"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// planUEFI chooses the UEFI boot before anything is built: with UKI, the
// stub, the tools and the keys (made now when the directory has none);
// else shim and GRUB or the unsigned GRUB, as -secureboot says.
func (b *liveCDBuild) planUEFI() error {
	s := b.s
	if !s.UKI {
		if err := CheckSecureBoot(s.SecureBoot); err != nil {
			return err
		}
		roots := s.SignedRoots
		if len(roots) == 0 {
			roots = []string{"/"}
		}
		var why string
		var err error
		if b.efi, why, err = secureBootLoaders(s.SecureBoot, s.Kernel.Vmlinuz(), roots); err != nil {
			return err
		}
		s.Log("%s", why)
		return nil
	}
	if _, err := os.Stat(UKIStub); err != nil {
		return fmt.Errorf("systemd's UEFI stub %s: %w (install the Debian package systemd-boot-efi; scripts/setup.sh does)", UKIStub, err)
	}
	for _, t := range []string{"objcopy", "sbsign", "sbverify"} {
		if _, err := hostcmd.Need(t); err != nil {
			return err
		}
	}
	if s.Keys == "" {
		return fmt.Errorf("a unified kernel image is signed with your db key: name the directory of db.key and db.crt, or an empty one where mklive makes PK, KEK and db (-keys DIR)")
	}
	var err error
	b.keys, err = UseOrMakeKeys(s.Keys, s.Log)
	if err == nil {
		err = os.WriteFile(filepath.Join(s.Keys, "enroll.sh"), []byte(EnrollScript()), 0o755)
	}
	s.Log("UEFI: a unified kernel image (systemd-stub, no GRUB) signed with %s: the firmware checks the kernel, the initramfs and the command line", b.keys.DBCert())
	return err
}

// signedUKI builds the unified kernel image of the kernel, the initramfs
// and the final command line (with the root hash), signs it, and returns
// its path; "" without UKI.
func (b *liveCDBuild) signedUKI(initrd string) (string, error) {
	s := b.s
	if !s.UKI {
		return "", nil
	}
	start := time.Now()
	unsigned, signed := filepath.Join(b.work, "uki.unsigned.efi"), filepath.Join(b.work, "BOOTX64.EFI")
	if err := BuildUKI(UKISpec{Kernel: s.Kernel.Vmlinuz(), Initramfs: initrd, Cmdline: b.cmdline, OSRelease: ukiOSRelease(s.Label, s.UUID), Out: unsigned}); err != nil {
		return "", err
	}
	if err := SignEFI(b.keys, unsigned, signed); err != nil {
		return "", err
	}
	os.Remove(unsigned)
	if st, err := os.Stat(signed); err == nil {
		s.Log("unified kernel image: %s, signed, %s, command line: %s", config.HumanBytes(uint64(st.Size())), hostcmd.Took(start), b.cmdline)
	}
	return signed, nil
}
