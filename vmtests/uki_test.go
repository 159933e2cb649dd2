package vmtests

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// efiGlobal is the UEFI global variables' vendor GUID (efivarfs names).
const efiGlobal = "8be4df61-93ca-11d2-aa0d-00e098032b8c"

// ukiExtra is on the command line of the boot entry the test makes: it
// must not reach the kernel under Secure Boot.
const ukiExtra = "ukitest.extra=from-the-boot-menu"

// TestUKISecureBoot: a Live CD whose UEFI boot is a unified kernel image
// signed with keys mklive made (Debian 12's standard kernel), on OVMF with
// Secure Boot whose variable store starts in setup mode. The first boot
// (Secure Boot off: setup mode) comes up and enrolls the keys from Linux
// with mklive's enroll.sh, as a user would, and adds a boot entry for the
// CD's image with a command line of its own (sandbox.verity dropped). From
// that store, Secure Boot enforced: the signed CD boots through that entry
// to the real init with the image's own command line; the same CD with one
// byte of the image's initramfs changed, and with the image's signature
// taken off, are refused by the firmware.
func TestUKISecureBoot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const uuid = "2026-12-06-22-00-00-00"
	keys := filepath.Join(dir, "keys")
	iso := ukiISO(t, testvm.Std12, uuid, keys, "signing keys: made a new PK, KEK and db in "+keys)
	vars := filepath.Join(dir, "vars.fd")
	copyFile(t, testvm.OVMFSetupVars, vars)
	entry := "console=ttyS0 sandbox.cd=UUID=" + uuid + " sandbox.onfail=poweroff " + ukiExtra
	hook := hookDisc(t, dir, "enroll", keys, map[string][]byte{
		"Boot0080": efiVar(loadOption("sandbox UKI, boot menu command line", `\EFI\BOOT\BOOTX64.EFI`, entry)),
		"BootNext": efiVar([]byte{0x80, 0}),
	}, `echo "GUEST setupmode=$(tail -c1 $v/SetupMode-`+efiGlobal+` | od -An -tu1 | tr -d ' ')"
echo "GUEST enroll=$(sh /hook/enroll.sh 2>&1 | tr '\n' ' ')"
dd if=/hook/Boot0080 of=$v/Boot0080-`+efiGlobal+` bs=1M conv=notrunc 2>/dev/null && echo "GUEST bootentry=written"
dd if=/hook/BootNext of=$v/BootNext-`+efiGlobal+` bs=1M conv=notrunc 2>/dev/null && echo "GUEST bootnext=written"
echo "GUEST setupmode_after=$(tail -c1 $v/SetupMode-`+efiGlobal+` | od -An -tu1 | tr -d ' ')"
`)
	c := bootVM(t, ukiVM(iso, hook, vars))
	for k, want := range map[string]string{
		"setupmode": "1", "enroll": "enrolled db enrolled KEK enrolled PK ", "bootentry": "written", "bootnext": "written", "setupmode_after": "0",
		"root": "/dev/mapper/sandbox ext4 rw", "write": "sandbox-write-test",
		"secureboot": "not verified: UEFI Secure Boot setup mode, kernel lockdown: none: the firmware checked nothing; the command line (sandbox.verity's root hash) is as the boot loader passed it (from the medium or the network)",
	} {
		if got, _ := c.guest(k); got != want {
			t.Errorf("setup mode boot: guest %s = %q, want %q", k, got, want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Run("enforced", func(t *testing.T) {
		t.Parallel()
		ukiEnforced(t, iso, uuid, keys, vars)
	})
	t.Run("deb13", func(t *testing.T) {
		// Debian 13's kernel (its modules .ko.xz), in an image signed
		// with the same keys, which mklive now takes as the user's.
		t.Parallel()
		const uuid13 = "2026-12-06-22-13-00-00"
		ukiEnforced(t, ukiISO(t, testvm.Std13, uuid13, keys, "signing keys: the db key "+filepath.Join(keys, "db.key")), uuid13, keys, vars)
	})
	t.Run("tampered", func(t *testing.T) { ukiRefused(t, tamperInitramfs(t, iso), vars) })
	t.Run("unsigned", func(t *testing.T) { ukiRefused(t, unsign(t, iso), vars) })
}

// ukiISO builds the Live CD with a signed unified kernel image for a
// kernel of testvm.Kernels, with the keys in keys; the build's log must
// say want about them.
func ukiISO(t *testing.T, kernel, uuid, keys, want string) string {
	t.Helper()
	iso := filepath.Join(t.TempDir(), "uki.iso")
	var log []string
	start := time.Now()
	err := mklive.LiveCD(mklive.LiveCDSpec{Kernel: built.kernels[kernel].kernel, Init: filepath.Join(built.dir, "init"),
		Root: built.rootImage, Container: "none", Label: "UKITEST", UUID: uuid, Append: "loglevel=7 sandbox.onfail=poweroff",
		UKI: true, Keys: keys, Out: iso, Log: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mklive -uki (%s): %.1f s", kernel, time.Since(start).Seconds())
	all := strings.Join(log, "\n")
	for _, w := range []string{want, "UEFI: a unified kernel image signed with " + filepath.Join(keys, "db.crt")} {
		if !strings.Contains(all, w) {
			t.Errorf("mklive's log lacks %q:\n%s", w, all)
		}
	}
	return iso
}

// ukiVM boots the CD on OVMF with Secure Boot (as the store vars says),
// the hook disc in a second drive.
func ukiVM(iso, hook, vars string) vm {
	return vm{noKernel: true, secureBoot: true, vars: vars, qemu: []string{"-cdrom", iso}, timeout: 180 * time.Second,
		drives: []testvm.Drive{{File: hook, Bus: testvm.AHCI, CD: true}}}
}

// ukiEnforced boots the signed CD with the keys enrolled, through the boot
// entry whose command line drops sandbox.verity: the image's own command
// line is the one the kernel gets.
func ukiEnforced(t *testing.T, iso, uuid, keys, enrolled string) {
	vars := filepath.Join(t.TempDir(), "vars.fd")
	copyFile(t, enrolled, vars)
	hook := hookDisc(t, t.TempDir(), "cmdline", keys, nil, `echo "GUEST cmdline=$(cat /proc/cmdline)"
`)
	start := time.Now()
	c := bootVM(t, ukiVM(iso, hook, vars))
	t.Logf("Secure Boot, unified kernel image: QEMU start to power-off in %.1f s", time.Since(start).Seconds())
	for _, want := range []string{
		`BdsDxe: starting Boot0080 "sandbox UKI, boot menu command line"`,
		"secureboot: Secure boot enabled",
		"Kernel is locked down from EFI Secure Boot",
		"sandbox-init: CD found: /dev/sr1 (sandbox.cd=UUID=" + uuid + ")",
		"sandbox-init: boot chain: verified: UEFI Secure Boot on",
	} {
		if !c.contains(want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	cmdline := c.mustGuest(t, "cmdline")
	if strings.Contains(cmdline, ukiExtra) || !strings.Contains(cmdline, "sandbox.verity=") {
		t.Errorf("the kernel's command line is the boot entry's, not the signed image's: %q", cmdline)
	}
	for k, want := range map[string]string{
		"pid":        "1",
		"root":       "/dev/mapper/sandbox ext4 rw",
		"slaves":     "dm-0 ram0 ",
		"write":      "sandbox-write-test",
		"verity":     "OK (every block read from the image so far matched its hash tree)",
		"secureboot": "verified: UEFI Secure Boot on, kernel lockdown: integrity; a signed unified kernel image (systemd-stub 252.39-1~deb12u2): the firmware checked its signature over the kernel, the initramfs and the command line, sandbox.verity's root hash with it",
	} {
		if got := c.mustGuest(t, k); got != want {
			t.Errorf("guest %s = %q, want %q", k, got, want)
		}
	}
}

// ukiRefused boots a CD whose image the enrolled firmware must refuse:
// nothing of it runs.
func ukiRefused(t *testing.T, iso, enrolled string) {
	t.Parallel()
	vars := filepath.Join(t.TempDir(), "vars.fd")
	copyFile(t, enrolled, vars)
	const noBoot = "BdsDxe: No bootable option or device was found."
	c := bootVM(t, vm{noKernel: true, secureBoot: true, vars: vars, qemu: []string{"-cdrom", iso}, timeout: 90 * time.Second,
		session: func(s *testvm.Session) {
			if err := s.Expect(noBoot); err != nil {
				s.T.Errorf("the firmware never said %q: %v", noBoot, err)
			}
			s.Stop()
		}})
	if !c.contains(`failed to load Boot0080 "sandbox UKI, boot menu command line"`) || !c.contains("Access Denied") {
		t.Errorf("the firmware did not refuse the CD's image (Access Denied)")
	}
	for _, never := range []string{"EFI stub", "Linux version", "sandbox-init"} {
		if c.contains(never) {
			t.Errorf("the refused image ran: the console shows %q", never)
		}
	}
}

// hookDisc writes a data disc with guest.sh (run by the guest init before
// anything else, $v being efivarfs), mklive's enroll.sh and the .auth
// files of keys, and files.
func hookDisc(t *testing.T, dir, name, keys string, files map[string][]byte, script string) string {
	t.Helper()
	tree := filepath.Join(dir, name)
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	files2 := map[string][]byte{"guest.sh": []byte("v=/sys/firmware/efi/efivars\n" + script)}
	for _, f := range []string{"enroll.sh", "PK.auth", "KEK.auth", "db.auth"} {
		b, err := os.ReadFile(filepath.Join(keys, f))
		if err != nil {
			t.Fatal(err)
		}
		files2[f] = b
	}
	for f, b := range files {
		files2[f] = b
	}
	for f, b := range files2 {
		if err := os.WriteFile(filepath.Join(tree, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, name+".iso")
	if err := hostcmd.Run("xorriso", "-as", "mkisofs", "-quiet", "-r", "-V", "HOOK", "-o", out, tree); err != nil {
		t.Fatal(err)
	}
	return out
}

// efiVar is a variable as efivarfs takes it: attributes (non-volatile,
// boot and runtime access) then the data, in one write.
func efiVar(data []byte) []byte { return append([]byte{7, 0, 0, 0}, data...) }

// loadOption is an EFI_LOAD_OPTION (a Boot#### variable, what a boot menu
// entry is): active, its description, a device path that is a file path
// alone (the firmware looks for the file on every file system), and
// optional data the firmware hands the image as its load options: the
// command line a boot loader or menu passes, in UTF-16.
func loadOption(desc, file, cmdline string) []byte {
	u16 := func(s string) []byte {
		var b []byte
		for _, c := range utf16.Encode([]rune(s + "\x00")) {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
		return b
	}
	path := u16(file)
	dp := append([]byte{4, 4}, binary.LittleEndian.AppendUint16(nil, uint16(4+len(path)))...) // media, file path
	dp = append(append(dp, path...), 0x7f, 0xff, 4, 0)                                        // end of the path
	b := binary.LittleEndian.AppendUint32(nil, 1)                                             // LOAD_OPTION_ACTIVE
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dp)))
	b = append(append(append(b, u16(desc)...), dp...), u16(cmdline)...)
	return b
}

// signedImage returns the ISO's bytes and its unified kernel image's
// (EFI/BOOT/BOOTX64.EFI in the El Torito EFI image).
func signedImage(t *testing.T, iso string) (isoBytes, uki []byte) {
	t.Helper()
	dir := t.TempDir()
	efi, img := filepath.Join(dir, "efiboot.img"), filepath.Join(dir, "uki.efi")
	if out, err := exec.Command("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/efiboot.img", efi).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v: %s", err, out)
	}
	if out, err := exec.Command("mcopy", "-i", efi, "::/EFI/BOOT/BOOTX64.EFI", img).CombinedOutput(); err != nil {
		t.Fatalf("mcopy: %v: %s", err, out)
	}
	uki, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	isoBytes, err = os.ReadFile(iso)
	if err != nil {
		t.Fatal(err)
	}
	return isoBytes, uki
}

// patchISO writes a copy of the ISO with every occurrence of the image's
// bytes at [off, off+n) replaced by patch's answer, and returns it; want
// is how many occurrences there must be.
func patchISO(t *testing.T, iso string, off, n, want int, patch func([]byte) []byte) string {
	t.Helper()
	b, uki := signedImage(t, iso)
	old := uki[off : off+n]
	if got := bytes.Count(b, old); got != want {
		t.Fatalf("the image's bytes at %d occur %d times in the ISO, want %d", off, got, want)
	}
	b = bytes.ReplaceAll(b, old, patch(bytes.Clone(old)))
	out := filepath.Join(t.TempDir(), "patched.iso")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// tamperInitramfs is the ISO with one byte flipped in the middle of the
// signed image's initramfs (and in /boot/initrd.img, the same bytes,
// BIOS's copy).
func tamperInitramfs(t *testing.T, iso string) string {
	_, uki := signedImage(t, iso)
	f, err := pe.NewFile(bytes.NewReader(uki))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(".initrd")
	if s == nil {
		t.Fatal("the image has no .initrd section")
	}
	mid := int(s.Offset + s.Size/2)
	return patchISO(t, iso, mid-32, 64, 2, func(b []byte) []byte { b[32] ^= 0x01; return b })
}

// unsign is the ISO with the image's certificate table taken out of its
// PE header (what sbattach --remove does, in place): an unsigned image.
func unsign(t *testing.T, iso string) string {
	_, uki := signedImage(t, iso)
	lfanew := int(binary.LittleEndian.Uint32(uki[0x3c:]))
	sec := lfanew + 24 + 112 + 4*8 // PE32+: data directory 4, the certificate table
	if binary.LittleEndian.Uint32(uki[sec+4:]) == 0 {
		t.Fatal("the image carries no signature to take off")
	}
	return patchISO(t, iso, 0, 512, 1, func(b []byte) []byte { clear(b[sec : sec+8]); return b })
}
