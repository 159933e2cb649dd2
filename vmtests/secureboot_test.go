package vmtests

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// TestISOBootsSecureBoot: a Live CD as mklive builds it for Debian 12's
// standard kernel (signed by Debian; it has AHCI, the CD's bus on q35),
// booted by UEFI firmware that enforces Secure Boot with Microsoft's keys,
// from a CD and as a disk: shim (signed by Microsoft) checks GRUB (signed
// by Debian), GRUB checks the kernel through shim, and the kernel,
// sandbox-init and the sandbox come up with Secure Boot on. The same ISO
// boots on UEFI with Secure Boot off.
func TestISOBootsSecureBoot(t *testing.T) {
	t.Parallel()
	const uuid = "2026-11-26-04-00-00-00"
	iso := filepath.Join(t.TempDir(), "live.iso")
	var log []string
	err := mklive.LiveCD(mklive.LiveCDSpec{Kernel: built.kernels[testvm.Std12].kernel, Init: filepath.Join(built.dir, "init"),
		Root: built.rootImage, Container: "none", Label: "SBTEST", UUID: uuid, Append: "loglevel=7 sandbox.onfail=poweroff",
		SecureBoot: mklive.SecureBootYes, SignedRoots: []string{signedRoot()}, Out: iso,
		Log: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(log, "\n")
	if !strings.Contains(all, "UEFI: shim and GRUB signed for Secure Boot") {
		t.Errorf("mklive did not build the signed chain:\n%s", all)
	}
	// The initramfs mklive made carries the CD's driver on q35: ahci.
	for _, l := range log {
		if strings.HasPrefix(l, "initramfs: ") {
			_, mods, _ := strings.Cut(l, "s: ")
			if !slices.Contains(strings.Fields(mods), "ahci") {
				t.Errorf("the initramfs lacks ahci: %s", l)
			}
		}
	}
	// As a CD (El Torito) and as a disk (isohybrid: a USB stick, here
	// a SATA disk, writable as QEMU wants it, the image's copy); and on
	// UEFI with Secure Boot off (OVMF without it, on QEMU's pc machine):
	// shim and the signed GRUB boot there too.
	for _, tc := range []struct{ name, dev string }{{"cd", "/dev/sr0"}, {"disk", "/dev/sda"}, {"off", "/dev/sr0"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := vm{noKernel: true, secureBoot: true, qemu: []string{"-cdrom", iso}, timeout: 120 * time.Second}
			want := []string{
				"EFI stub: UEFI Secure Boot is enabled.",
				"secureboot: Secure boot enabled",
				"Kernel is locked down from EFI Secure Boot",
			}
			switch tc.name {
			case "disk":
				disk := filepath.Join(t.TempDir(), "stick.img")
				copyFile(t, iso, disk)
				v.qemu, v.drives = nil, []testvm.Drive{{File: disk, Bus: testvm.AHCI}}
			case "off":
				v.secureBoot, v.qemu = false, []string{"-bios", "/usr/share/ovmf/OVMF.fd", "-cdrom", iso}
				want = []string{"secureboot: Secure boot disabled"}
			}
			start := time.Now()
			c := bootVM(t, v)
			t.Logf("Secure Boot (%s): QEMU start to power-off in %.1f s", tc.name, time.Since(start).Seconds())
			for _, want := range append(want, "sandbox-init: CD found: "+tc.dev+" (sandbox.cd=UUID="+uuid+")") {
				if !c.contains(want) {
					t.Errorf("the console lacks %q", want)
				}
			}
			if c.contains("ISOLINUX") {
				t.Errorf("the BIOS path booted, not UEFI")
			}
			chain := "partly verified: UEFI Secure Boot on, kernel lockdown: integrity; no unified kernel image: the boot loaders and the kernel were checked, not the initramfs nor the command line (sandbox.verity's root hash)"
			if tc.name == "off" {
				chain = "not verified: UEFI Secure Boot setup mode, kernel lockdown: none: the firmware checked nothing; the command line (sandbox.verity's root hash) is as the boot loader passed it (from the medium or the network)"
			}
			for k, want := range map[string]string{
				"secureboot": chain,
				"pid":        "1",
				"root":       "/dev/mapper/sandbox ext4 rw",
				"cd":         tc.dev + " iso9660 ro",
				"write":      "sandbox-write-test",
			} {
				if got := c.mustGuest(t, k); got != want {
					t.Errorf("guest %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestSecureBootRefusesUnsigned: the same firmware refuses the unsigned
// GRUB (grub-mkstandalone) of a Live CD built without the signed chain,
// and nothing of it runs: no GRUB, no kernel. This is what makes the test
// above prove anything.
func TestSecureBootRefusesUnsigned(t *testing.T) {
	t.Parallel()
	iso := liveISO(t, "UNSIGNED")
	const noBoot = "BdsDxe: No bootable option or device was found."
	start := time.Now()
	c := bootVM(t, vm{noKernel: true, secureBoot: true, qemu: []string{"-cdrom", iso}, timeout: 60 * time.Second,
		session: func(s *testvm.Session) {
			if err := s.Expect(noBoot); err != nil {
				s.T.Errorf("the firmware never said %q: %v", noBoot, err)
			}
			s.Stop()
		}})
	t.Logf("Secure Boot: firmware start to refusal in %.1f s", time.Since(start).Seconds())
	if !c.contains(`failed to load Boot0001 "UEFI QEMU DVD-ROM`) || !c.contains("Access Denied") {
		t.Errorf("the firmware did not refuse the CD's loader (Access Denied)")
	}
	for _, never := range []string{"Welcome to GRUB", "EFI stub", "Linux version", "sandbox-init"} {
		if c.contains(never) {
			t.Errorf("the unsigned loader ran: the console shows %q", never)
		}
	}
}

// signedRoot is where scripts/setup.sh unpacks Debian's signed loaders.
func signedRoot() string { return filepath.Join(built.cache, "secureboot", "root") }
