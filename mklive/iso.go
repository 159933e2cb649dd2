package mklive

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// ISOSpec says what goes on the Live CD.
type ISOSpec struct {
	Kernel    string // vmlinuz
	Initramfs string
	RootImage string // copied to ImagePath on the CD: an image or its container
	HashTree  string // its dm-verity hash tree, copied to ImagePath.verity; "" for none
	ImagePath string // default /initrd-ext2 (PlainImagePath), the how-to's name
	Label     string // ISO 9660 volume id (sandbox.cd=LABEL=...)
	// UUID is the volume date as blkid shows it as the ISO's UUID
	// (YYYY-MM-DD-hh-mm-ss-cc, see ISOUUID; sandbox.cd=UUID=...); ""
	// lets xorriso take the current time.
	UUID    string
	Cmdline string // kernel parameters
	// EFI are Debian's signed loaders for a Secure Boot UEFI boot (shim,
	// GRUB); unset, the UEFI boot is an unsigned GRUB.
	EFI SignedLoaders
	// UKI is a signed unified kernel image (BuildUKI, SignEFI): when
	// set, it is the UEFI boot (EFI/BOOT/BOOTX64.EFI), with no GRUB.
	UKI string
	Out string
	Log func(format string, args ...any) // when set, hears how far xorriso is
}

// isolinux's files in Debian's isolinux and syslinux-common packages;
// isohdpfx.bin is the MBR that makes the ISO boot from a disk too.
var isolinuxFiles = map[string]string{
	"isolinux.bin": "/usr/lib/ISOLINUX/isolinux.bin",
	"ldlinux.c32":  "/usr/lib/syslinux/modules/bios/ldlinux.c32",
	"isohdpfx.bin": "/usr/lib/ISOLINUX/isohdpfx.bin",
}

// BuildISO writes a bootable ISO holding the kernel, the initramfs and the
// root image: El Torito with isolinux for BIOS and with GRUB (or a signed
// unified kernel image, UKI) for UEFI, and isohybrid (an MBR, and a GPT
// with the EFI image as its ESP) so the same image written to a USB stick
// (or attached as a disk) boots too.
func BuildISO(s ISOSpec) error {
	date, err := s.check()
	if err != nil {
		return err
	}
	stage, err := os.MkdirTemp(filepath.Dir(s.Out), ".iso-stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	total, err := s.stage(stage)
	if err != nil {
		return err
	}
	if err := s.stageEFI(stage); err != nil {
		return err
	}
	_ = os.Remove(s.Out)
	args := append([]string{"-as", "mkisofs", "-quiet", "-o", s.Out,
		"-V", s.Label, "-A", "sandbox-init Live CD", "-iso-level", "4", "-r"}, date...)
	args = append(args, "-isohybrid-mbr", isolinuxFiles["isohdpfx.bin"],
		"-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
		"-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
		"-eltorito-alt-boot", "-e", "efiboot.img", "-no-emul-boot", "-isohybrid-gpt-basdat", stage)
	return hostcmd.RunProgress(s.Log, "ISO", total, "xorriso", args...)
}

// check fills in the spec's defaults, checks its label and UUID and the
// tools, and returns xorriso's date options for the UUID.
func (s *ISOSpec) check() (date []string, err error) {
	if s.ImagePath == "" {
		s.ImagePath = PlainImagePath
	}
	if s.Log == nil {
		s.Log = func(string, ...any) {}
	}
	if s.Label == "" {
		s.Label = "SANDBOX"
	}
	if len(s.Label) > 32 || strings.ContainsAny(s.Label, " \t\"") {
		return nil, fmt.Errorf("label %q: want at most 32 characters, no spaces or quotes", s.Label)
	}
	if s.UUID != "" {
		if !config.ISOUUID(s.UUID) {
			return nil, fmt.Errorf("UUID %q: want an ISO 9660 UUID as blkid shows it, YYYY-MM-DD-hh-mm-ss-cc", s.UUID)
		}
		// xorriso's -volume_date uuid, in its mkisofs emulation: the
		// volume's creation and modification dates, 16 digits.
		date = []string{"--modification-date=" + strings.ReplaceAll(s.UUID, "-", "")}
	}
	for name, src := range isolinuxFiles {
		if _, err := os.Stat(src); err != nil {
			pkg := "isolinux"
			if name == "ldlinux.c32" {
				pkg = "syslinux-common"
			}
			return nil, fmt.Errorf("%s not found: install the Debian package %s (scripts/setup.sh does)", src, pkg)
		}
	}
	_, err = hostcmd.Need("xorriso")
	return date, err
}

// stage lays out the ISO's files in stage (hard links where it can) with
// isolinux's config, and returns their total size.
func (s ISOSpec) stage(stage string) (uint64, error) {
	files := map[string]string{
		"isolinux/isolinux.bin": isolinuxFiles["isolinux.bin"],
		"isolinux/ldlinux.c32":  isolinuxFiles["ldlinux.c32"],
		"boot/vmlinuz":          s.Kernel,
		"boot/initrd.img":       s.Initramfs,
		s.ImagePath[1:]:         s.RootImage,
	}
	if s.HashTree != "" {
		files[s.ImagePath[1:]+".verity"] = s.HashTree
	}
	var total uint64
	for dst, src := range files {
		if err := link(src, filepath.Join(stage, dst)); err != nil {
			return 0, err
		}
		if st, err := os.Stat(src); err == nil {
			total += uint64(st.Size())
		}
	}
	cfg := "SERIAL 0 115200\nDEFAULT sandbox\nTIMEOUT 1\nPROMPT 0\n" + entry("sandbox", s.Cmdline)
	return total, os.WriteFile(filepath.Join(stage, "isolinux/isolinux.cfg"), []byte(cfg), 0o644)
}

// stageEFI writes the El Torito EFI image into stage, and with the signed
// GRUB its config on the ISO 9660 file system too.
func (s ISOSpec) stageEFI(stage string) error {
	work, err := os.MkdirTemp(filepath.Dir(s.Out), ".efi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	grubCfg := grubConfig(s.Label, s.UUID, s.Cmdline)
	if err := buildEFIImage(work, grubCfg, s.EFI, s.UKI, filepath.Join(stage, "efiboot.img")); err != nil {
		return err
	}
	if !s.EFI.Signed() || s.UKI != "" {
		return nil
	}
	// The signed GRUB reads $prefix/grub.cfg on the device it was
	// loaded from, which it takes to be the ISO 9660 file system both
	// from a CD (El Torito) and from the isohybrid image as a disk
	// (OVMF; a copy on the EFI image's FAT alone is not found); the EFI
	// image has its copy for a GRUB that does look there.
	cfg := filepath.Join(stage, signedGRUBPrefix, "grub.cfg")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		return err
	}
	return os.WriteFile(cfg, []byte(grubCfg), 0o644)
}

// ISOUUID is the ISO 9660 UUID, as blkid shows it, of a volume dated t (in
// UTC): 2026-11-26-02-55-00-00, to the hundredth of a second.
func ISOUUID(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s-%02d", t.Format("2006-01-02-15-04-05"), t.Nanosecond()/1e7)
}

func entry(label, cmdline string) string {
	return fmt.Sprintf("LABEL %s\n  KERNEL /boot/vmlinuz\n  INITRD /boot/initrd.img\n  APPEND %s\n", label, cmdline)
}

// link puts src at dst, hard-linking when it can (the root image may be
// large) and copying otherwise, holes kept.
func link(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copySparse(src, dst)
}

// copySparse copies a file a block at a time, seeking over blocks of
// zeros, so that a sparse image stays sparse and is never held in memory.
func copySparse(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	buf, zeros := make([]byte, 1<<20), make([]byte, 1<<20)
	var size int64
	for {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 {
			if bytes.Equal(buf[:n], zeros[:n]) {
				_, err = out.Seek(int64(n), io.SeekCurrent)
			} else {
				_, err = out.Write(buf[:n])
			}
			if err != nil {
				out.Close()
				return err
			}
			size += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			out.Close()
			return rerr
		}
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
