package mklive

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakePE writes a minimal PE32+ image, with a certificate table when
// signed, as a signed or unsigned EFI stub kernel looks to KernelSigned.
func fakePE(t *testing.T, path string, signed bool) {
	t.Helper()
	var b bytes.Buffer
	dos := make([]byte, 0x40)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[0x3c:], 0x40)
	b.Write(dos)
	b.WriteString("PE\x00\x00")
	oh := pe.OptionalHeader64{Magic: 0x20b, NumberOfRvaAndSizes: 16}
	fh := pe.FileHeader{Machine: pe.IMAGE_FILE_MACHINE_AMD64, SizeOfOptionalHeader: uint16(binary.Size(oh))}
	if err := binary.Write(&b, binary.LittleEndian, fh); err != nil {
		t.Fatal(err)
	}
	if signed {
		// The certificate table is a file offset: after the headers.
		oh.DataDirectory[4] = pe.DataDirectory{VirtualAddress: uint32(b.Len() + binary.Size(oh)), Size: 8}
	}
	if err := binary.Write(&b, binary.LittleEndian, oh); err != nil {
		t.Fatal(err)
	}
	if signed {
		b.Write([]byte{8, 0, 0, 0, 0, 2, 2, 0}) // WIN_CERTIFICATE header, PKCS#7
	}
	writeFile(t, path, b.Bytes())
}

func TestKernelSigned(t *testing.T) {
	dir := t.TempDir()
	fakePE(t, filepath.Join(dir, "signed"), true)
	fakePE(t, filepath.Join(dir, "unsigned"), false)
	writeFile(t, filepath.Join(dir, "bzimage"), []byte("not a PE image"))
	for name, want := range map[string]bool{"signed": true, "unsigned": false} {
		if got, err := KernelSigned(filepath.Join(dir, name)); err != nil || got != want {
			t.Errorf("KernelSigned(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := KernelSigned(filepath.Join(dir, "bzimage")); err == nil || !strings.Contains(err.Error(), "not an EFI (PE) image") {
		t.Errorf("a non-PE kernel: %v", err)
	}
}

func TestChooseSecureBoot(t *testing.T) {
	noLoaders := errors.New("no shim")
	notPE := errors.New("not PE")
	for _, tc := range []struct {
		mode            string
		signed          bool
		kerr, lerr      error
		want            bool
		why, err, noWhy string
	}{
		{mode: "auto", signed: true, want: true, why: "signed shim and GRUB"},
		{mode: "", signed: true, want: true, why: "-secureboot auto"},
		{mode: "auto", signed: false, want: false, why: "the kernel image carries no signature"},
		{mode: "auto", signed: true, lerr: noLoaders, want: false, why: "unsigned GRUB, which Secure Boot refuses (-secureboot auto): no shim"},
		{mode: "auto", kerr: notPE, lerr: noLoaders, want: false, why: "not PE; no shim"},
		{mode: "yes", signed: true, want: true, why: "(-secureboot yes)"},
		{mode: "yes", signed: false, err: "-secureboot yes: the kernel image carries no signature"},
		{mode: "yes", signed: true, lerr: noLoaders, err: "-secureboot yes: no shim"},
		{mode: "yes", kerr: notPE, err: "-secureboot yes: not PE"},
		{mode: "no", signed: true, want: false, why: "unsigned GRUB (-secureboot no)"},
		{mode: "no", lerr: noLoaders, want: false, why: "unsigned GRUB (-secureboot no)", noWhy: "no shim"},
		{mode: "maybe", signed: true, err: `-secureboot "maybe": want auto, yes or no`},
	} {
		got, why, err := ChooseSecureBoot(tc.mode, tc.signed, tc.kerr, tc.lerr)
		name := fmt.Sprintf("%s signed=%v kerr=%v lerr=%v", tc.mode, tc.signed, tc.kerr, tc.lerr)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) || got {
				t.Errorf("%s: %v, %v; want the error %q", name, got, err, tc.err)
			}
		case err != nil || got != tc.want || !strings.Contains(why, tc.why) || (tc.noWhy != "" && strings.Contains(why, tc.noWhy)):
			t.Errorf("%s: %v, %q, %v; want %v, %q", name, got, why, err, tc.want, tc.why)
		}
	}
	for _, m := range []string{"auto", "yes", "no", ""} {
		if err := CheckSecureBoot(m); err != nil {
			t.Errorf("CheckSecureBoot(%q): %v", m, err)
		}
	}
	if err := CheckSecureBoot("on"); err == nil {
		t.Error("CheckSecureBoot took on")
	}
}

// signedTree lays out Debian's signed loader packages, unpacked, with
// fake contents; mm adds shim's MOK manager.
func signedTree(t *testing.T, mm bool) string {
	t.Helper()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, shimPath), []byte("shim"))
	writeFile(t, filepath.Join(root, grubSignedPath), []byte("signed grub"))
	if mm {
		writeFile(t, filepath.Join(root, mokManagerPath), []byte("mok manager"))
	}
	return root
}

func TestFindSignedLoaders(t *testing.T) {
	empty, half, full, noMM := t.TempDir(), t.TempDir(), signedTree(t, true), signedTree(t, false)
	writeFile(t, filepath.Join(half, shimPath), []byte("shim"))
	l, err := FindSignedLoaders(empty, half, full, noMM)
	if err != nil || l.Shim != filepath.Join(full, shimPath) || l.GRUB != filepath.Join(full, grubSignedPath) || l.MokManager != filepath.Join(full, mokManagerPath) || !l.Signed() {
		t.Errorf("FindSignedLoaders: %+v, %v", l, err)
	}
	if l, err := FindSignedLoaders(noMM); err != nil || l.MokManager != "" || !l.Signed() {
		t.Errorf("FindSignedLoaders without the MOK manager: %+v, %v", l, err)
	}
	_, err = FindSignedLoaders(empty, half)
	if err == nil || !strings.Contains(err.Error(), "shim-signed") || !strings.Contains(err.Error(), "grub-efi-amd64-signed") || !strings.Contains(err.Error(), half) {
		t.Errorf("no loaders: %v", err)
	}
	if (SignedLoaders{}).Signed() {
		t.Error("no loaders are signed")
	}
}

func TestGRUBConfig(t *testing.T) {
	const cmdline = "console=tty0 console=ttyS0 sandbox.cd=UUID=2026-11-26-02-55-00-00"
	want := `serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set gfxpayload=text
search --no-floppy --set=root --fs-uuid 2026-11-26-02-55-00-00
linux /boot/vmlinuz ` + cmdline + `
initrd /boot/initrd.img
boot
`
	if got := grubConfig("SANDBOX", "2026-11-26-02-55-00-00", cmdline); got != want {
		t.Errorf("grubConfig with a UUID:\n%s\nwant:\n%s", got, want)
	}
	if got := grubConfig("SANDBOX", "", "x"); !strings.Contains(got, "search --no-floppy --set=root --label SANDBOX\n") {
		t.Errorf("grubConfig without a UUID:\n%s", got)
	}
}

// A Live CD of a signed kernel with the signed loaders: shim boots from
// the EFI image, the signed GRUB beside it, the config where that GRUB
// looks (EFI/debian/grub.cfg) on both the EFI image and the ISO 9660 file
// system; of an unsigned kernel, the unsigned GRUB (auto) or an error
// (yes).
func TestLiveCDSecureBoot(t *testing.T) {
	needTools(t, "mke2fs", "xorriso", "grub-mkstandalone", "mformat", "mtype", "mdir")
	k := liveKernel(t)
	initBin := filepath.Join(t.TempDir(), "init")
	writeFile(t, initBin, []byte("#!/bin/sh\n"))
	tree := smallTree(t)
	signedRoot := signedTree(t, true)
	build := func(mode string) (string, string, error) {
		iso := filepath.Join(t.TempDir(), "live.iso")
		var log []string
		err := LiveCD(LiveCDSpec{Kernel: k, Init: initBin, Root: tree, Container: "none", Out: iso, UUID: "2026-11-26-02-55-00-00",
			SecureBoot: mode, SignedRoots: []string{t.TempDir(), signedRoot},
			Log: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }})
		return iso, strings.Join(log, "\n"), err
	}
	// The fake kernel is no PE image: auto takes the unsigned GRUB.
	iso, log, err := build("auto")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "UEFI: unsigned GRUB") || slices.Contains(isoFiles(t, iso), "/EFI/debian/grub.cfg") {
		t.Errorf("an unsigned kernel, auto:\n%s\n%v", log, isoFiles(t, iso))
	}
	if _, _, err := build("yes"); err == nil || !strings.Contains(err.Error(), "-secureboot yes: kernel image") {
		t.Errorf("an unsigned kernel, yes: %v", err)
	}
	fakePE(t, k.Vmlinuz(), true)
	for _, mode := range []string{"auto", "yes"} {
		iso, log, err := build(mode)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log, "UEFI: shim and GRUB signed for Secure Boot") {
			t.Errorf("%s: the log:\n%s", mode, log)
		}
		cfg, err := os.ReadFile(isoFile(t, iso, "/EFI/debian/grub.cfg"))
		if err != nil {
			t.Fatal(err)
		}
		// The same command line as isolinux's (with the root hash).
		isolinux, err := os.ReadFile(isoFile(t, iso, "/isolinux/isolinux.cfg"))
		if err != nil {
			t.Fatal(err)
		}
		_, appendLine, _ := strings.Cut(string(isolinux), "  APPEND ")
		appendLine, _, _ = strings.Cut(appendLine, "\n")
		if !strings.HasPrefix(appendLine, "console=tty0 console=ttyS0 sandbox.cd=UUID=2026-11-26-02-55-00-00") ||
			!strings.Contains(string(cfg), "search --no-floppy --set=root --fs-uuid 2026-11-26-02-55-00-00\nlinux /boot/vmlinuz "+appendLine+"\n") {
			t.Errorf("%s: /EFI/debian/grub.cfg on the CD:\n%s\nisolinux.cfg:\n%s", mode, cfg, isolinux)
		}
		img := isoFile(t, iso, "/efiboot.img")
		for path, want := range map[string]string{
			"EFI/BOOT/BOOTX64.EFI": "shim",
			"EFI/BOOT/grubx64.efi": "signed grub",
			"EFI/BOOT/mmx64.efi":   "mok manager",
			"EFI/debian/grub.cfg":  string(cfg),
		} {
			got, err := exec.Command("mtype", "-i", img, "::/"+path).Output()
			if err != nil || string(got) != want {
				t.Errorf("%s: the EFI image's %s: %q, %v; want %q", mode, path, got, err, want)
			}
		}
	}
	// The unsigned GRUB when asked for, though all is there for the signed.
	iso, log, err = build("no")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "UEFI: unsigned GRUB (-secureboot no)") || slices.Contains(isoFiles(t, iso), "/EFI/debian/grub.cfg") {
		t.Errorf("no:\n%s", log)
	}
	if out, err := exec.Command("mdir", "-i", isoFile(t, iso, "/efiboot.img"), "-b", "::/EFI/BOOT").Output(); err != nil || strings.TrimSpace(string(out)) != "::/EFI/BOOT/BOOTX64.EFI" {
		t.Errorf("no: the EFI image's EFI/BOOT: %q, %v", out, err)
	}
}
