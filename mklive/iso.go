package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ISOSpec says what goes on the Live CD.
type ISOSpec struct {
	Kernel    string // vmlinuz
	Initramfs string
	RootImage string // copied to ImagePath on the CD
	ImagePath string // default /initrd-ext2, the how-to's name
	Label     string // ISO 9660 volume id (sandbox.cd=LABEL=...)
	Cmdline   string // kernel parameters
	Out       string
}

// isolinux's files in Debian's isolinux and syslinux-common packages;
// isohdpfx.bin is the MBR that makes the ISO boot from a disk too.
var isolinuxFiles = map[string]string{
	"isolinux.bin": "/usr/lib/ISOLINUX/isolinux.bin",
	"ldlinux.c32":  "/usr/lib/syslinux/modules/bios/ldlinux.c32",
	"isohdpfx.bin": "/usr/lib/ISOLINUX/isohdpfx.bin",
}

// BuildISO writes a bootable ISO holding the kernel, the initramfs and the
// root image: El Torito with isolinux for BIOS and with GRUB for UEFI, and
// isohybrid (an MBR, and a GPT with the EFI image as its ESP) so the same
// image written to a USB stick (or attached as a disk) boots too.
func BuildISO(s ISOSpec) error {
	if s.ImagePath == "" {
		s.ImagePath = "/initrd-ext2"
	}
	if s.Label == "" {
		s.Label = "SANDBOX"
	}
	if len(s.Label) > 32 || strings.ContainsAny(s.Label, " \t\"") {
		return fmt.Errorf("label %q: want at most 32 characters, no spaces or quotes", s.Label)
	}
	for name, src := range isolinuxFiles {
		if _, err := os.Stat(src); err != nil {
			pkg := "isolinux"
			if name == "ldlinux.c32" {
				pkg = "syslinux-common"
			}
			return fmt.Errorf("%s not found: install the Debian package %s (scripts/setup.sh does)", src, pkg)
		}
	}
	if _, err := Need("xorriso"); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(filepath.Dir(s.Out), ".iso-stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	files := map[string]string{
		"isolinux/isolinux.bin": isolinuxFiles["isolinux.bin"],
		"isolinux/ldlinux.c32":  isolinuxFiles["ldlinux.c32"],
		"boot/vmlinuz":          s.Kernel,
		"boot/initrd.img":       s.Initramfs,
		s.ImagePath[1:]:         s.RootImage,
	}
	for dst, src := range files {
		if err := link(src, filepath.Join(stage, dst)); err != nil {
			return err
		}
	}
	cfg := "SERIAL 0 115200\nDEFAULT sandbox\nTIMEOUT 1\nPROMPT 0\n" + entry("sandbox", s.Cmdline)
	if err := os.WriteFile(filepath.Join(stage, "isolinux/isolinux.cfg"), []byte(cfg), 0o644); err != nil {
		return err
	}
	work, err := os.MkdirTemp(filepath.Dir(s.Out), ".efi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := buildEFIImage(work, s.Label, s.Cmdline, filepath.Join(stage, "efiboot.img")); err != nil {
		return err
	}
	_ = os.Remove(s.Out)
	return Run("xorriso", "-as", "mkisofs", "-quiet", "-o", s.Out,
		"-V", s.Label, "-A", "sandbox-init Live CD", "-iso-level", "4", "-r",
		"-isohybrid-mbr", isolinuxFiles["isohdpfx.bin"],
		"-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
		"-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
		"-eltorito-alt-boot", "-e", "efiboot.img", "-no-emul-boot", "-isohybrid-gpt-basdat", stage)
}

func entry(label, cmdline string) string {
	return fmt.Sprintf("LABEL %s\n  KERNEL /boot/vmlinuz\n  INITRD /boot/initrd.img\n  APPEND %s\n", label, cmdline)
}

// link puts src at dst, hard-linking when it can (the root image may be
// large) and copying otherwise.
func link(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
