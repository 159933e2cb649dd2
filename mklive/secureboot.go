package mklive

import (
	"debug/pe"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The -secureboot choices: how the ISO boots on UEFI.
const (
	// SecureBootAuto: Debian's signed shim and GRUB when the kernel image
	// carries a signature and both are found, else the unsigned GRUB.
	SecureBootAuto = "auto"
	// SecureBootYes: the signed chain, or fail saying what is missing.
	SecureBootYes = "yes"
	// SecureBootNo: the unsigned GRUB (grub-mkstandalone), which
	// firmware with Secure Boot enforced refuses.
	SecureBootNo = "no"
)

// SignedLoaders are Debian's signed UEFI boot loaders: shim, signed by
// Microsoft's UEFI CA (the key PCs ship with), which verifies GRUB and the
// kernel against Debian's key; GRUB, signed by Debian, a monolithic image
// (its modules built in) that reads its config from /EFI/debian/grub.cfg on
// the device it was loaded from; and shim's MOK manager (optional), which
// enrols a user's own keys (mokutil --import, then a reboot).
type SignedLoaders struct {
	Shim       string // shimx64.efi.signed (shim-signed)
	GRUB       string // grubx64.efi.signed (grub-efi-amd64-signed)
	MokManager string // mmx64.efi.signed (shim-helpers-amd64-signed); "" when absent
}

// Signed says whether the loaders are set: the ISO boots through shim.
func (l SignedLoaders) Signed() bool { return l.Shim != "" }

// Where Debian's packages put the signed loaders, below a root: / when
// they are installed, or a directory they are unpacked in with dpkg -x
// (scripts/setup.sh unpacks them into .cache/secureboot/root).
const (
	shimPath       = "usr/lib/shim/shimx64.efi.signed"
	grubSignedPath = "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
	mokManagerPath = "usr/lib/shim/mmx64.efi.signed"
)

// signedGRUBPrefix is where Debian's signed GRUB looks for its config on
// the device it was loaded from (its built-in prefix; its built-in early
// config sources $prefix/grub.cfg).
const signedGRUBPrefix = "EFI/debian"

// FindSignedLoaders looks for shim and the signed GRUB below each root in
// turn, and returns the first root's that has both.
func FindSignedLoaders(roots ...string) (SignedLoaders, error) {
	for _, r := range roots {
		l := SignedLoaders{Shim: filepath.Join(r, shimPath), GRUB: filepath.Join(r, grubSignedPath)}
		if !isFile(l.Shim) || !isFile(l.GRUB) {
			continue
		}
		if mm := filepath.Join(r, mokManagerPath); isFile(mm) {
			l.MokManager = mm
		}
		return l, nil
	}
	return SignedLoaders{}, fmt.Errorf("Debian's signed boot loaders (/%s from shim-signed, /%s from grub-efi-amd64-signed) are in none of %s: install the two packages, or unpack them with dpkg -x into a directory named by -signed (scripts/setup.sh unpacks them into .cache/secureboot/root)",
		shimPath, grubSignedPath, strings.Join(roots, ", "))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// KernelSigned says whether a kernel image carries an Authenticode
// signature: an EFI stub PE image with a certificate table (Debian's
// linux-image-* are signed by Debian; a kernel built at home is not). It
// does not verify the signature: the firmware and shim do.
func KernelSigned(vmlinuz string) (bool, error) {
	f, err := pe.Open(vmlinuz)
	if err != nil {
		return false, fmt.Errorf("kernel image %s is not an EFI (PE) image: %w", vmlinuz, err)
	}
	defer f.Close()
	const security = 4 // IMAGE_DIRECTORY_ENTRY_SECURITY: the certificate table
	var dirs []pe.DataDirectory
	switch h := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		dirs = h.DataDirectory[:h.NumberOfRvaAndSizes]
	case *pe.OptionalHeader32:
		dirs = h.DataDirectory[:h.NumberOfRvaAndSizes]
	default:
		return false, fmt.Errorf("kernel image %s has no PE optional header", vmlinuz)
	}
	return len(dirs) > security && dirs[security].Size > 0 && dirs[security].VirtualAddress > 0, nil
}

// ChooseSecureBoot decides, for a -secureboot mode, whether the ISO boots
// through the signed chain. kernelSigned and kernelErr are KernelSigned's
// answer for the kernel, loadersErr FindSignedLoaders'. why says what was
// chosen and why, for the build's log; err is a mode that cannot be had
// ("yes" with something missing) or an unknown mode.
func ChooseSecureBoot(mode string, kernelSigned bool, kernelErr, loadersErr error) (signed bool, why string, err error) {
	var missing []string
	if kernelErr != nil {
		missing = append(missing, kernelErr.Error())
	} else if !kernelSigned {
		missing = append(missing, "the kernel image carries no signature (Debian's linux-image-* packages are signed; a kernel of your own must be signed with a key shim trusts, e.g. one enrolled with MOK)")
	}
	if loadersErr != nil {
		missing = append(missing, loadersErr.Error())
	}
	switch mode {
	case SecureBootNo:
		return false, "UEFI: unsigned GRUB (-secureboot no): firmware with Secure Boot enforced refuses it", nil
	case SecureBootYes:
		if len(missing) > 0 {
			return false, "", fmt.Errorf("-secureboot yes: %s", strings.Join(missing, "; "))
		}
		return true, "UEFI: Secure Boot: Debian's signed shim and GRUB, a signed kernel (-secureboot yes)", nil
	case SecureBootAuto, "":
		if len(missing) > 0 {
			return false, "UEFI: unsigned GRUB, which Secure Boot refuses (-secureboot auto): " + strings.Join(missing, "; "), nil
		}
		return true, "UEFI: Secure Boot: Debian's signed shim and GRUB, a signed kernel (-secureboot auto)", nil
	}
	return false, "", fmt.Errorf("-secureboot %q: want auto, yes or no", mode)
}

// CheckSecureBoot checks a -secureboot mode's spelling.
func CheckSecureBoot(mode string) error {
	switch mode {
	case SecureBootAuto, SecureBootYes, SecureBootNo, "":
		return nil
	}
	return fmt.Errorf("-secureboot %q: want auto, yes or no", mode)
}

// secureBootLoaders decides for a kernel image and a mode, looking for the
// signed loaders below roots, and returns them (zero: the unsigned GRUB)
// with the reason for the log.
func secureBootLoaders(mode, vmlinuz string, roots []string) (SignedLoaders, string, error) {
	if mode == SecureBootNo {
		_, why, err := ChooseSecureBoot(mode, false, nil, nil)
		return SignedLoaders{}, why, err
	}
	ksigned, kerr := KernelSigned(vmlinuz)
	l, lerr := FindSignedLoaders(roots...)
	signed, why, err := ChooseSecureBoot(mode, ksigned, kerr, lerr)
	if err != nil || !signed {
		return SignedLoaders{}, why, err
	}
	return l, why, nil
}

// DefaultSignedRoots are where mklive looks for Debian's signed loaders by
// default: the cache scripts/setup.sh fills ($SANDBOX_CACHE, or .cache in
// the repository repo), then the machine itself.
func DefaultSignedRoots(repo string) []string {
	cache := os.Getenv("SANDBOX_CACHE")
	if cache == "" {
		cache = filepath.Join(repo, ".cache")
	}
	return []string{filepath.Join(cache, "secureboot", "root"), "/"}
}
