package mklive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// NetbootURL is a netboot tree's default base URL: the web root of the
// machine that answered PXE as its boot server (DHCP's next-server), which
// iPXE fills in when it runs the script. Every iPXE has this setting;
// ${cwduri} (the script's own directory) needs an iPXE of 2024 or later.
const NetbootURL = "http://${next-server}"

// NetbootSpec is a netboot tree: LiveCDSpec's kernel, init, root, container,
// verity and extra parameters (its Out is the tree's directory; its label
// and UEFI fields are unused) and the URL the tree is served at.
type NetbootSpec struct {
	LiveCDSpec
	// URL is where a web server serves the tree (Out): the kernel, the
	// initramfs and sandbox.url are under it. It may hold iPXE settings;
	// default NetbootURL.
	URL string
}

// Netboot writes the directory a web server serves for a network boot:
// vmlinuz, initrd.img (with the NIC drivers, as sandbox.url asks), the
// image or container at its CD path with its hash tree beside it, and
// boot.ipxe, the iPXE script whose kernel line carries the command line
// with sandbox.url and sandbox.verity, and the same command line in
// pxelinux.cfg/default and grub/grub.cfg (writeLoaderEntries); with UKI,
// the signed unified kernel image too, which boot.ipxe chains on UEFI. It
// logs each step with its sizes.
func Netboot(s NetbootSpec) (err error) {
	if s.URL == "" {
		s.URL = NetbootURL
	}
	s.setDefaults() // a nil Log: this function logs too, not only buildParts
	if set := ipxeSetting.FindString(s.URL); s.UKI && set != "" {
		return fmt.Errorf("-uki signs the command line with sandbox.url in it, and nothing fills in iPXE's %s there under Secure Boot: give -url the server's address (http://HOST/PATH)", set)
	}
	_, before := os.Stat(s.Out)
	if err := os.MkdirAll(s.Out, 0o755); err != nil {
		return err
	}
	if errors.Is(before, fs.ErrNotExist) {
		// A refused or failed build leaves nothing where there was
		// nothing (the build's work directory is made inside Out).
		defer func() {
			if err != nil {
				os.RemoveAll(s.Out)
			}
		}()
	}
	b, parts, err := buildParts(s.LiveCDSpec, s.URL, s.Out)
	defer os.RemoveAll(b.work)
	if err != nil {
		return err
	}
	files := map[string]string{"vmlinuz": s.Kernel.Vmlinuz(), "initrd.img": parts.initrd, b.imagePath: parts.image}
	if parts.tree != "" {
		files[b.imagePath+".verity"] = parts.tree
	}
	uki, err := b.signedUKI(parts.initrd) // with the root hash: after the tree
	if err != nil {
		return err
	}
	if uki != "" {
		files[UKIName] = uki
	}
	for name, src := range files {
		if err := putInto(b.work, src, filepath.Join(s.Out, name)); err != nil {
			return err
		}
	}
	os.RemoveAll(b.work) // before the tree's size: its files are linked there
	script := IPXEScript(s.URL, b.cmdline, s.Kernel.Version)
	if uki != "" {
		script = IPXEScriptUKI(s.URL, b.cmdline, s.Kernel.Version, b.keys.DBCert())
	}
	if err := os.WriteFile(filepath.Join(s.Out, "boot.ipxe"), []byte(script), 0o644); err != nil {
		return err
	}
	loaders, err := writeLoaderEntries(s.Out, s.URL, b.cmdline, s.Kernel.Version, s.Log)
	if err != nil {
		return err
	}
	if uki != "" {
		loaders = append(loaders, UKIName+" (signed with "+b.keys.DBCert()+", chained by boot.ipxe on UEFI)")
	}
	s.Log("netboot tree %s (%s): vmlinuz, initrd.img, %s%s, boot.ipxe%s; serve it at %s; kernel command line: %s", s.Out, config.HumanBytes(treeBytes(s.Out)),
		strings.TrimPrefix(b.imagePath, "/"), map[bool]string{true: " with its .verity"}[parts.tree != ""], strings.Join(append([]string{""}, loaders...), ", "), s.URL, b.cmdline)
	return nil
}

// IPXEScript is a netboot tree's boot.ipxe: the kernel and the initramfs
// from base, with the command line. initrd= names the initramfs for the
// kernel's EFI stub when iPXE runs on UEFI (BIOS kernels ignore it).
func IPXEScript(base, cmdline, kver string) string {
	base = strings.TrimSuffix(base, "/")
	return fmt.Sprintf("#!ipxe\n# sandbox-init network boot, kernel %s: written by mklive netboot\nkernel %s/vmlinuz initrd=initrd.img %s\ninitrd %s/initrd.img\nboot\n", kver, base, cmdline, base)
}

// UKIName is the signed unified kernel image's name in a netboot tree
// (mklive netboot -uki).
const UKIName = "uki.efi"

// IPXEScriptUKI is boot.ipxe for a tree with the signed unified kernel
// image: on UEFI it chains the image (the firmware checks its signature
// when Secure Boot is on, and systemd's stub then boots the kernel, the
// initramfs and the command line signed in it, ignoring iPXE's); on BIOS
// it loads the kernel and the initramfs as IPXEScript does. iPXE gives an
// EFI program its name and arguments as its command line, which the stub
// takes when Secure Boot is off: the arguments are the same command line,
// and the name is BOOT_IMAGE=, which the kernel hands to init as an
// environment variable as it does GRUB's.
func IPXEScriptUKI(base, cmdline, kver, cert string) string {
	bios := strings.TrimPrefix(IPXEScript(base, cmdline, kver), "#!ipxe\n")
	return fmt.Sprintf("#!ipxe\niseq ${platform} efi && goto uki ||\n%s:uki\n# UEFI: the unified kernel image signed with %s\nchain --name BOOT_IMAGE=%s %s/%s %s\n",
		bios, filepath.Base(cert), UKIName, strings.TrimSuffix(base, "/"), UKIName, cmdline)
}

// putInto puts src at dst: linked when it was built in the scratch
// directory work (which is then removed), copied when it is the user's
// (the kernel, a root image as it is), so that the tree shares no file
// with them.
func putInto(work, src, dst string) error {
	os.Remove(dst) // a tree written again: link fails on an existing file
	if strings.HasPrefix(src, work+"/") {
		return link(src, dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return copySparse(src, dst)
}

// treeBytes is the size of the files under dir (apparent: what the web
// server sends).
func treeBytes(dir string) uint64 {
	var n uint64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += uint64(fi.Size())
		}
		return nil
	})
	return n
}
