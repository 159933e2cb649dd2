package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// grubModules are what the EFI loader needs to find the CD by UUID or label
// and boot Linux from it, with a serial console; only these are packed into
// BOOTX64.EFI (grub-mkstandalone would otherwise pack every module).
const grubModules = "part_gpt part_msdos iso9660 search search_label search_fs_uuid linux normal serial terminal"

// grubConfig boots the same kernel, initramfs and command line as isolinux,
// from the CD with the build's UUID when it has one (GRUB names an ISO 9660
// volume by its date as blkid does): another disc with the same label,
// an older build on a stick, is not the one booted.
func grubConfig(label, uuid, cmdline string) string {
	search := "--label " + label
	if uuid != "" {
		search = "--fs-uuid " + uuid
	}
	return fmt.Sprintf(`serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set gfxpayload=text
search --no-floppy --set=root %s
linux /boot/vmlinuz %s
initrd /boot/initrd.img
boot
`, search, cmdline)
}

// buildEFIImage writes the El Torito EFI boot image: a small FAT file
// system holding EFI/BOOT/BOOTX64.EFI, a GRUB with the config built in.
// Tools: grub-mkstandalone (grub-efi-amd64-bin), mformat/mmd/mcopy (mtools).
func buildEFIImage(dir, label, uuid, cmdline, out string) error {
	if _, err := os.Stat("/usr/lib/grub/x86_64-efi"); err != nil {
		return fmt.Errorf("GRUB's x86_64-efi modules are not installed: install the Debian package grub-efi-amd64-bin (scripts/setup.sh does)")
	}
	cfg := filepath.Join(dir, "grub.cfg")
	if err := os.WriteFile(cfg, []byte(grubConfig(label, uuid, cmdline)), 0o644); err != nil {
		return err
	}
	efi := filepath.Join(dir, "BOOTX64.EFI")
	if err := Run("grub-mkstandalone", "-O", "x86_64-efi", "-o", efi,
		"--install-modules="+grubModules, "--modules="+grubModules,
		"--locales=", "--fonts=", "--themes=", "boot/grub/grub.cfg="+cfg); err != nil {
		return err
	}
	st, err := os.Stat(efi)
	if err != nil {
		return err
	}
	// FAT sized to the loader plus room for the file system's own tables.
	sectors := (st.Size()/1024 + 512) * 2
	_ = os.Remove(out)
	if err := Run("mformat", "-i", out, "-C", "-T", strconv.FormatInt(sectors, 10), "-h", "2", "-s", "32", "::"); err != nil {
		return err
	}
	if err := Run("mmd", "-i", out, "::/EFI", "::/EFI/BOOT"); err != nil {
		return err
	}
	return Run("mcopy", "-i", out, efi, "::/EFI/BOOT/BOOTX64.EFI")
}
