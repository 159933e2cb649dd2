package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
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
// system holding EFI/BOOT/BOOTX64.EFI. Without signed loaders that is a
// GRUB with the config built in (grub-mkstandalone, grub-efi-amd64-bin);
// with them, shim as BOOTX64.EFI, the signed GRUB beside it as grubx64.efi
// (where shim looks for it), shim's MOK manager as mmx64.efi, and the
// config at EFI/debian/grub.cfg, where the signed GRUB looks for it. With
// a unified kernel image (uki), that image alone, as BOOTX64.EFI. Tools:
// mformat/mmd/mcopy (mtools).
func buildEFIImage(dir, grubCfg string, l SignedLoaders, uki, out string) error {
	cfg := filepath.Join(dir, "grub.cfg")
	if err := os.WriteFile(cfg, []byte(grubCfg), 0o644); err != nil {
		return err
	}
	files, err := efiFiles(dir, cfg, l, uki)
	if err != nil {
		return err
	}
	var size int64
	for _, f := range files {
		st, err := os.Stat(f.src)
		if err != nil {
			return err
		}
		size += st.Size()
	}
	// FAT sized to the files plus room for the file system's own tables.
	sectors := (size/1024 + 512) * 2
	_ = os.Remove(out)
	if err := hostcmd.Run("mformat", "-i", out, "-C", "-T", strconv.FormatInt(sectors, 10), "-h", "2", "-s", "32", "::"); err != nil {
		return err
	}
	dirs := []string{"::/EFI", "::/EFI/BOOT"}
	if l.Signed() && uki == "" {
		dirs = append(dirs, "::/"+signedGRUBPrefix)
	}
	if err := hostcmd.Run("mmd", append([]string{"-i", out}, dirs...)...); err != nil {
		return err
	}
	for _, f := range files {
		if err := hostcmd.Run("mcopy", "-i", out, f.src, "::/"+f.dst); err != nil {
			return err
		}
	}
	return nil
}

// efiFile is a file of the EFI boot image: its source and its path there.
type efiFile struct{ src, dst string }

// efiFiles are the EFI boot image's files, the unsigned GRUB built in dir
// when there are neither signed loaders nor a unified kernel image.
func efiFiles(dir, cfg string, l SignedLoaders, uki string) ([]efiFile, error) {
	if uki != "" {
		return []efiFile{{uki, "EFI/BOOT/BOOTX64.EFI"}}, nil
	}
	if l.Signed() {
		files := []efiFile{
			{l.Shim, "EFI/BOOT/BOOTX64.EFI"},
			{l.GRUB, "EFI/BOOT/grubx64.efi"},
			{cfg, signedGRUBPrefix + "/grub.cfg"},
		}
		if l.MokManager != "" {
			files = append(files, efiFile{l.MokManager, "EFI/BOOT/mmx64.efi"})
		}
		return files, nil
	}
	if _, err := os.Stat("/usr/lib/grub/x86_64-efi"); err != nil {
		return nil, fmt.Errorf("GRUB's x86_64-efi modules are not installed: install the Debian package grub-efi-amd64-bin (scripts/setup.sh does)")
	}
	efi := filepath.Join(dir, "BOOTX64.EFI")
	if err := hostcmd.Run("grub-mkstandalone", "-O", "x86_64-efi", "-o", efi,
		"--install-modules="+grubModules, "--modules="+grubModules,
		"--locales=", "--fonts=", "--themes=", "boot/grub/grub.cfg="+cfg); err != nil {
		return nil, err
	}
	return []efiFile{{efi, "EFI/BOOT/BOOTX64.EFI"}}, nil
}
