package mklive

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// PXELinuxFiles are PXELINUX's programs (Debian's pxelinux and
// syslinux-common), by their name in a netboot tree: a tree gets those
// this machine has, so that TFTP can serve the tree as it is.
var PXELinuxFiles = map[string]string{
	"lpxelinux.0": "/usr/lib/PXELINUX/lpxelinux.0", // fetches http:// itself (lwIP), on any PXE
	"pxelinux.0":  "/usr/lib/PXELINUX/pxelinux.0",  // http:// through iPXE when iPXE loaded it, else TFTP only
	"ldlinux.c32": "/usr/lib/syslinux/modules/bios/ldlinux.c32",
}

// PXELinuxConfig is a netboot tree's pxelinux.cfg/default: the kernel and
// the initramfs from base by HTTP (lpxelinux.0 on any PXE firmware,
// pxelinux.0 on iPXE, which fetches for it) with the command line
// boot.ipxe carries; SYSAPPEND 2 adds BOOTIF= (the MAC address PXE booted
// from), which makes the init use that link alone. PXELINUX fills in no
// settings, so a base with one (iPXE's ${next-server}) has no entry.
func PXELinuxConfig(base, cmdline, kver string) (string, error) {
	if s := ipxeSetting.FindString(base + " " + cmdline); s != "" {
		return "", fmt.Errorf("PXELINUX cannot fill in iPXE's %s: give mklive netboot -url the server's address (http://HOST/PATH)", s)
	}
	base = strings.TrimSuffix(base, "/")
	return fmt.Sprintf(`# sandbox-init network boot, kernel %s: written by mklive netboot.
# http:// paths: lpxelinux.0 fetches them itself; pxelinux.0 only when iPXE loaded it.
DEFAULT sandbox
PROMPT 0
TIMEOUT 0
LABEL sandbox
	KERNEL %s/vmlinuz
	INITRD %s/initrd.img
	APPEND %s
	SYSAPPEND 2
`, kver, base, base, cmdline), nil
}

// grubSettings are the iPXE settings GRUB has a variable for: the server
// DHCP named (GRUB's net_bootp sets net_default_server from it).
var grubSettings = map[string]string{"${next-server}": "${net_default_server}"}

// GRUBConfig is a netboot tree's grub/grub.cfg, for GRUB's network boot
// (Debian's grubnetx64.efi, or grub-mknetdir's core image, beside the
// tree's grub/): one entry that loads the kernel and the initramfs over
// HTTP with the command line boot.ipxe carries, iPXE's ${next-server} as
// GRUB's ${net_default_server}. Each word that holds a character GRUB's
// script treats specially is double-quoted.
func GRUBConfig(base, cmdline, kver string) (string, error) {
	base, cmdline = grubSetting(base), grubSetting(cmdline)
	if s := ipxeSetting.FindString(strings.ReplaceAll(base+" "+cmdline, "${net_default_server}", "")); s != "" {
		return "", fmt.Errorf("GRUB has no variable for iPXE's %s: give mklive netboot -url the server's address, or http://${next-server}", s)
	}
	rest, ok := strings.CutPrefix(strings.TrimSuffix(base, "/"), "http://")
	if !ok {
		return "", fmt.Errorf("GRUB loads by http:// only, not %s", base)
	}
	host, path, _ := strings.Cut(rest, "/")
	dev := "(http," + host + ")"
	if path != "" {
		dev += "/" + path
	}
	var words []string
	for _, w := range config.Fields(cmdline) { // the kernel's quotes removed: GRUB quotes a word with a space for the kernel
		words = append(words, grubWord(w))
	}
	return fmt.Sprintf(`# sandbox-init network boot, kernel %s: written by mklive netboot.
# GRUB's network boot reads it as grub/grub.cfg beside its own image.
set timeout=0
menuentry "sandbox-init network boot" {
	echo "Loading %s/vmlinuz ..."
	linux %s/vmlinuz %s
	initrd %s/initrd.img
}
`, kver, dev, dev, strings.Join(words, " "), dev), nil
}

func grubSetting(s string) string {
	for ipxe, grub := range grubSettings {
		s = strings.ReplaceAll(s, ipxe, grub)
	}
	return s
}

// grubPlain are the words GRUB's script takes as they are.
var grubPlain = regexp.MustCompile(`^[A-Za-z0-9_.,:/=+@%~-]*$`)

// grubWord quotes w for GRUB's script: in double quotes, \ " and $ are
// escaped, but for the variables mklive wrote itself.
func grubWord(w string) string {
	if grubPlain.MatchString(w) {
		return w
	}
	q := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(w)
	for _, v := range grubSettings {
		q = strings.ReplaceAll(q, `\`+v, v)
	}
	return `"` + q + `"`
}

// writeLoaderEntries writes the tree's pxelinux.cfg/default (with
// PXELINUX's programs this machine has) and grub/grub.cfg for the command
// line, and says which it wrote, or why not.
func writeLoaderEntries(out, base, cmdline, kver string, log func(string, ...any)) ([]string, error) {
	var wrote []string
	entries := []struct {
		name string
		make func(base, cmdline, kver string) (string, error)
	}{{"pxelinux.cfg/default", PXELinuxConfig}, {"grub/grub.cfg", GRUBConfig}}
	for _, e := range entries {
		text, err := e.make(base, cmdline, kver)
		if err != nil {
			log("netboot: no %s: %v", e.name, err)
			continue
		}
		if err := os.MkdirAll(filepath.Join(out, filepath.Dir(e.name)), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(out, e.name), []byte(text), 0o644); err != nil {
			return nil, err
		}
		wrote = append(wrote, e.name)
		if e.name != "pxelinux.cfg/default" {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(PXELinuxFiles)) {
			src := PXELinuxFiles[name]
			if _, err := os.Stat(src); err != nil {
				log("netboot: no %s in the tree: %s is missing (Debian's pxelinux and syslinux-common have it)", name, src)
				continue
			}
			if err := copySparse(src, filepath.Join(out, name)); err != nil {
				return nil, err
			}
			wrote = append(wrote, name)
		}
	}
	return wrote, nil
}
