package mklive

import (
	"debug/pe"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// UKIStub is systemd's UEFI stub (Debian's systemd-boot-efi): the PE
// program of a unified kernel image. It boots the .linux section with the
// .initrd section and the .cmdline section as the kernel's command line;
// with Secure Boot on it ignores a command line the boot loader or the boot
// menu passes (systemd 252's stub.c), so the signed one is the only one.
const UKIStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// UKISpec is what goes into a unified kernel image.
type UKISpec struct {
	Stub      string // default UKIStub
	Kernel    string // vmlinuz (an EFI stub kernel)
	Initramfs string
	Cmdline   string
	OSRelease string // the text of the .osrel section
	Out       string // the unsigned image
}

// ukiSection is a section added to the stub, in the order laid out.
type ukiSection struct{ name, file string }

// BuildUKI writes a unified kernel image: the stub with .osrel, .cmdline,
// .linux and .initrd sections added by objcopy (binutils). Each section is
// placed after the stub's last one, 4 KiB aligned: objcopy puts an added
// section wherever it is told, and a section overlapping the stub's own
// would be loaded over the stub's code or data.
func BuildUKI(s UKISpec) error {
	if s.Stub == "" {
		s.Stub = UKIStub
	}
	if _, err := os.Stat(s.Stub); err != nil {
		return fmt.Errorf("systemd's UEFI stub %s: %w (install the Debian package systemd-boot-efi; scripts/setup.sh does)", s.Stub, err)
	}
	if _, err := hostcmd.Need("objcopy"); err != nil {
		return err
	}
	base, end, err := peEnd(s.Stub)
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.Out)
	osrel, cmdline := filepath.Join(dir, "uki.osrel"), filepath.Join(dir, "uki.cmdline")
	defer os.Remove(osrel)
	defer os.Remove(cmdline)
	if err := os.WriteFile(osrel, []byte(s.OSRelease), 0o644); err != nil {
		return err
	}
	// The stub hands the section's bytes to the kernel as they are: no
	// newline, which would end up in /proc/cmdline.
	if err := os.WriteFile(cmdline, []byte(s.Cmdline), 0o644); err != nil {
		return err
	}
	var args []string
	vma := alignUp(end, 0x1000)
	for _, sec := range []ukiSection{{".osrel", osrel}, {".cmdline", cmdline}, {".linux", s.Kernel}, {".initrd", s.Initramfs}} {
		st, err := os.Stat(sec.file)
		if err != nil {
			return err
		}
		args = append(args, "--add-section", sec.name+"="+sec.file,
			"--change-section-vma", sec.name+"=0x"+strconv.FormatUint(base+vma, 16))
		vma = alignUp(vma+uint64(st.Size()), 0x1000)
	}
	_ = os.Remove(s.Out)
	return hostcmd.Run("objcopy", append(args, s.Stub, s.Out)...)
}

// peEnd returns a PE image's base address and the end (relative to the
// base) of its last section in memory.
func peEnd(path string) (base, end uint64, err error) {
	f, err := pe.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("%s is not a PE image: %w", path, err)
	}
	defer f.Close()
	switch h := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		base = h.ImageBase
	case *pe.OptionalHeader32:
		base = uint64(h.ImageBase)
	}
	for _, s := range f.Sections {
		if e := uint64(s.VirtualAddress) + uint64(s.VirtualSize); e > end {
			end = e
		}
	}
	return base, end, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

// UKISections returns the names and memory ranges (relative to the image's
// base) of a PE image's sections, for the checks that they do not overlap.
func UKISections(path string) (map[string][2]uint64, error) {
	f, err := pe.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][2]uint64{}
	for _, s := range f.Sections {
		out[s.Name] = [2]uint64{uint64(s.VirtualAddress), uint64(s.VirtualAddress) + uint64(s.VirtualSize)}
	}
	return out, nil
}

// ukiOSRelease is the image's .osrel: what a boot menu (systemd-boot)
// shows for it.
func ukiOSRelease(label, uuid string) string {
	return fmt.Sprintf("NAME=\"sandbox-init Live CD\"\nID=sandbox-live\nPRETTY_NAME=\"sandbox-init Live CD %s (%s)\"\nVERSION_ID=%q\n", label, uuid, uuid)
}
