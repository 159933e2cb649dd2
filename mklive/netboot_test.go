package mklive

import (
	"bytes"
	"debug/pe"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
)

// A netboot tree with a fake kernel that has virtio_net: its files, the
// NIC driver in its initramfs, boot.ipxe's lines with the command line
// under -url (or iPXE's ${next-server}), and the root hash on it, which
// veritysetup checks against the served image and tree.
func TestNetbootTree(t *testing.T) {
	k, initBin, tree := netbootInputs(t)
	for _, tc := range []struct{ url, base, loaders string }{
		// PXELINUX's entry and programs with a server's address only:
		// it fills in no ${next-server}.
		{"http://10.0.2.100/live/", "http://10.0.2.100/live", " grub/grub.cfg ldlinux.c32 lpxelinux.0 pxelinux.0 pxelinux.cfg/default"},
		{"", "http://${next-server}", " grub/grub.cfg"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "www")
			var log []string
			err := Netboot(NetbootSpec{URL: tc.url, LiveCDSpec: LiveCDSpec{Kernel: k, Init: initBin, Root: tree, Container: "zstd", Size: 64 << 20, Out: out,
				Append: "sandbox.cowsize=64M", Log: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }}})
			if err != nil {
				t.Fatal(err)
			}
			checkNetbootFiles(t, k, out, tc.loaders)
			script, err := os.ReadFile(filepath.Join(out, "boot.ipxe"))
			if err != nil {
				t.Fatal(err)
			}
			cmdline := "console=tty0 console=ttyS0 sandbox.url=" + tc.base + "/LiveOS/squashfs.img sandbox.cowsize=64M"
			m := regexp.MustCompile(`(?m)^#!ipxe\n(?:#.*\n)*kernel ` + regexp.QuoteMeta(tc.base+"/vmlinuz initrd=initrd.img "+cmdline) + ` sandbox.verity=([0-9a-f]{64})\ninitrd ` +
				regexp.QuoteMeta(tc.base+"/initrd.img") + `\nboot\n$`).FindSubmatch(script)
			if m == nil {
				t.Fatalf("boot.ipxe:\n%s", script)
			}
			img := filepath.Join(out, "LiveOS/squashfs.img")
			if b, err := exec.Command("veritysetup", "verify", img, img+".verity", string(m[1])).CombinedOutput(); err != nil {
				t.Errorf("veritysetup verify with boot.ipxe's root hash: %v: %s", err, b)
			}
			if all := strings.Join(log, "\n"); !strings.Contains(all, "netboot tree "+out+" (") || !strings.Contains(all, "serve it at "+tc.base) {
				t.Errorf("the log lacks the tree:\n%s", all)
			}
		})
	}
}

// netbootInputs are a fake kernel that has virtio_net, an init and a
// small root tree.
func netbootInputs(t *testing.T) (k Kernel, initBin, tree string) {
	t.Helper()
	needTools(t, "mke2fs", "mksquashfs", "veritysetup")
	k = liveKernel(t)
	nic := "kernel/drivers/net/virtio_net.ko"
	mods := filepath.Join(k.Root, "lib/modules", k.Version)
	writeFile(t, filepath.Join(mods, nic), moduleBytes(nic))
	dep, err := os.ReadFile(filepath.Join(mods, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(mods, "modules.dep"), append(dep, nic+":\n"...))
	initBin = filepath.Join(t.TempDir(), "init")
	writeFile(t, initBin, []byte("#!/bin/sh\n"))
	return k, initBin, smallTree(t)
}

// TestNetbootNoLog: a spec without Log (as bench net's) builds the tree
// (Netboot's own lines once went to a nil function).
func TestNetbootNoLog(t *testing.T) {
	k, initBin, tree := netbootInputs(t)
	out := filepath.Join(t.TempDir(), "www")
	if err := Netboot(NetbootSpec{LiveCDSpec: LiveCDSpec{Kernel: k, Init: initBin, Root: tree, Container: "zstd", Size: 64 << 20, Out: out}}); err != nil {
		t.Fatal(err)
	}
	checkNetbootFiles(t, k, out, " grub/grub.cfg")
}

// TestNetbootUKI: mklive netboot -uki -keys (an empty directory: mklive
// makes the keys) adds uki.efi, signed with the db key (sbverify), whose
// sections are the tree's kernel and initramfs and boot.ipxe's command
// line with the root hash; boot.ipxe chains it on UEFI with that command
// line and loads the kernel on BIOS as before.
func TestNetbootUKI(t *testing.T) {
	needTools(t, "objcopy", "sbsign", "sbverify", "openssl")
	k, initBin, tree := netbootInputs(t)
	out, keys := filepath.Join(t.TempDir(), "www"), filepath.Join(t.TempDir(), "keys")
	base := "http://10.0.2.100/live"
	var log []string
	err := Netboot(NetbootSpec{URL: base, LiveCDSpec: LiveCDSpec{Kernel: k, Init: initBin, Root: tree, Container: "zstd", Size: 64 << 20, Out: out,
		UKI: true, Keys: keys, Log: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }}})
	if err != nil {
		t.Fatal(err)
	}
	checkNetbootFiles(t, k, out, " grub/grub.cfg ldlinux.c32 lpxelinux.0 pxelinux.0 pxelinux.cfg/default uki.efi")
	uki := filepath.Join(out, UKIName)
	if b, err := exec.Command("sbverify", "--cert", filepath.Join(keys, "db.crt"), uki).CombinedOutput(); err != nil {
		t.Errorf("sbverify uki.efi with the db certificate: %v: %s", err, b)
	}
	script, _ := os.ReadFile(filepath.Join(out, "boot.ipxe"))
	m := regexp.MustCompile(`(?s)^#!ipxe\niseq \$\{platform\} efi && goto uki \|\|\n.*\nkernel ` + regexp.QuoteMeta(base) + `/vmlinuz initrd=initrd.img (.*sandbox.verity=[0-9a-f]{64})\ninitrd .*\nboot\n:uki\n#.*\nchain --name BOOT_IMAGE=uki.efi ` +
		regexp.QuoteMeta(base) + `/uki.efi (.*)\n$`).FindSubmatch(script)
	if m == nil || string(m[1]) != string(m[2]) {
		t.Fatalf("boot.ipxe does not chain uki.efi on UEFI with the BIOS entry's command line:\n%s", script)
	}
	vmlinuz, _ := os.ReadFile(filepath.Join(out, "vmlinuz"))
	initrd, _ := os.ReadFile(filepath.Join(out, "initrd.img"))
	for name, want := range map[string][]byte{".cmdline": m[1], ".linux": vmlinuz, ".initrd": initrd} {
		if got := peSection(t, uki, name); !bytes.Equal(got, want) {
			t.Errorf("uki.efi's %s section (%d bytes) is not the tree's (%d bytes)", name, len(got), len(want))
		}
	}
	if all := strings.Join(log, "\n"); !strings.Contains(all, "uki.efi (signed with "+filepath.Join(keys, "db.crt")) {
		t.Errorf("the log does not name the signed image:\n%s", all)
	}
	// The signed command line cannot hold a setting iPXE fills in.
	err = Netboot(NetbootSpec{LiveCDSpec: LiveCDSpec{Kernel: k, Init: initBin, Root: tree, Out: filepath.Join(t.TempDir(), "www"), UKI: true, Keys: keys}})
	if err == nil || !strings.Contains(err.Error(), "${next-server}") || !strings.Contains(err.Error(), "-url") {
		t.Errorf("-uki without -url: %v", err)
	}
}

// peSection is a PE image's section's bytes (its size in the file may
// be padded: cut to its size in memory).
func peSection(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := pe.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(name)
	if s == nil {
		t.Fatalf("%s has no section %s", path, name)
	}
	b, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	return b[:min(len(b), int(s.VirtualSize))]
}

// checkNetbootFiles checks a tree's files: the kernel as it is, the
// initramfs with the NIC driver and dm-verity, the boot loaders' files
// (loaders), nothing else.
func checkNetbootFiles(t *testing.T, k Kernel, out, loaders string) {
	t.Helper()
	var files []string
	filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, strings.TrimPrefix(p, out+"/"))
		}
		return nil
	})
	want := strings.Fields("LiveOS/squashfs.img LiveOS/squashfs.img.verity boot.ipxe initrd.img vmlinuz" + loaders)
	if slices.Sort(want); !slices.Equal(files, want) {
		t.Errorf("the tree holds %v, want %s", files, want)
	}
	a, _ := os.ReadFile(k.Vmlinuz())
	b, _ := os.ReadFile(filepath.Join(out, "vmlinuz"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("vmlinuz is not the kernel's (%d bytes, the kernel's %d)", len(b), len(a))
	}
	initrd := readInitramfs(t, filepath.Join(out, "initrd.img"))
	for _, m := range []string{"kernel/drivers/net/virtio_net.ko", "kernel/drivers/md/dm-verity.ko", "kernel/fs/squashfs/squashfs.ko"} {
		if _, ok := initrd["lib/modules/"+k.Version+"/"+m]; !ok {
			t.Errorf("the initramfs lacks %s", m)
		}
	}
}

// The command line a tree's script carries: sandbox.url under the base,
// iPXE settings allowed in it, and what mklive writes itself refused in
// -append.
func TestNetbootCmdline(t *testing.T) {
	got, path, cfg, err := NetbootCmdline("http://${next-server}/live/", "none", "quiet")
	if err != nil || got != "console=tty0 console=ttyS0 sandbox.url=http://${next-server}/live/initrd-ext2 quiet" || path != PlainImagePath || cfg.URL == "" {
		t.Errorf("got %q, %s, %q, %v", got, path, cfg.URL, err)
	}
	for _, extra := range []string{"sandbox.url=http://x/y", "sandbox.image=/x", "sandbox.cd=LABEL=X"} {
		if _, _, _, err := NetbootCmdline("http://h", "zstd", extra); err == nil || !strings.Contains(err.Error(), "leave it out") {
			t.Errorf("-append %s: %v", extra, err)
		}
	}
	if _, _, _, err := NetbootCmdline("ftp://h", "zstd", ""); err == nil || !strings.Contains(err.Error(), "not an http:// or https:// URL") {
		t.Errorf("an ftp base: %v", err)
	}
}

// TestLoaderEntries: pxelinux.cfg/default and grub/grub.cfg carry the
// command line boot.ipxe carries, word for word (the root hash, a quoted
// value with a space, a $ of the user's), from a server's URL and from
// iPXE's ${next-server} (GRUB's ${net_default_server}; PXELINUX has none
// and says so); grub-script-check takes the GRUB file.
func TestLoaderEntries(t *testing.T) {
	needTools(t, "grub-script-check")
	root := strings.Repeat("5a", 32)
	for _, base := range []string{"http://10.0.2.100:8080/live/", "http://${next-server}"} {
		t.Run(base, func(t *testing.T) {
			cmdline, _, _, err := NetbootCmdline(base, "zstd", `quiet sandbox.cowsize=64M note="two words" cost=$5`)
			if err != nil {
				t.Fatal(err)
			}
			cmdline += " sandbox.verity=" + root
			m := regexp.MustCompile(`(?m)^kernel \S+/vmlinuz initrd=initrd.img (.*)$`).FindStringSubmatch(IPXEScript(base, cmdline, "6.1.0-test"))
			if m == nil || !strings.Contains(m[1], "sandbox.verity="+root) {
				t.Fatalf("boot.ipxe's kernel line: %v", m)
			}
			want := m[1]
			pxe, err := PXELinuxConfig(base, cmdline, "6.1.0-test")
			if strings.Contains(base, "${") {
				if err == nil || !strings.Contains(err.Error(), "${next-server}") || !strings.Contains(err.Error(), "-url") {
					t.Errorf("PXELINUX with ${next-server}: %v", err)
				}
			} else if got := cfgLine(t, pxe, "APPEND"); err != nil || got != want || cfgLine(t, pxe, "KERNEL") != "http://10.0.2.100:8080/live/vmlinuz" ||
				cfgLine(t, pxe, "INITRD") != "http://10.0.2.100:8080/live/initrd.img" || cfgLine(t, pxe, "SYSAPPEND") != "2" {
				t.Errorf("pxelinux.cfg/default (%v), APPEND %q, want %q:\n%s", err, got, want, pxe)
			}
			grub, err := GRUBConfig(base, cmdline, "6.1.0-test")
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), "grub.cfg")
			if err := os.WriteFile(f, []byte(grub), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("grub-script-check", f).CombinedOutput(); err != nil {
				t.Errorf("grub-script-check: %v: %s\n%s", err, out, grub)
			}
			words := grubWords(t, cfgLine(t, grub, "linux"))
			dev := map[bool]string{true: "(http,${net_default_server})", false: "(http,10.0.2.100:8080)/live"}[strings.Contains(base, "${")]
			for i := 1; i < len(words); i++ { // the command line's words, in iPXE's setting
				words[i] = strings.ReplaceAll(words[i], "${net_default_server}", "${next-server}")
			}
			if len(words) == 0 || words[0] != dev+"/vmlinuz" || !slices.Equal(words[1:], config.Fields(want)) || cfgLine(t, grub, "initrd") != dev+"/initrd.img" {
				t.Errorf("grub.cfg's linux line is %q, want %s/vmlinuz and %q:\n%s", words, dev, config.Fields(want), grub)
			}
		})
	}
	if _, err := GRUBConfig("http://${cwduri}", "x", "v"); err == nil || !strings.Contains(err.Error(), "${cwduri}") {
		t.Errorf("GRUB with iPXE's ${cwduri}: %v", err)
	}
}

// cfgLine is the rest of the first line of a config that starts with key.
func cfgLine(t *testing.T, cfg, key string) string {
	t.Helper()
	for _, l := range strings.Split(cfg, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), key+" "); ok {
			return rest
		}
	}
	t.Errorf("no %s line in:\n%s", key, cfg)
	return ""
}

// grubWords splits a GRUB script line into its words as GRUB passes them
// (double quotes removed, \ escapes in them undone); a $ that GRUB would
// expand, but for ${net_default_server}, is an error.
func grubWords(t *testing.T, line string) []string {
	var out []string
	var b strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			quoted, in = !quoted, true
		case quoted && c == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
		case c == '$' && !strings.HasPrefix(line[i:], "${net_default_server}"):
			t.Errorf("GRUB would expand the $ at %d of %q", i, line)
		case !quoted && c == ' ':
			if in {
				out, in = append(out, b.String()), false
				b.Reset()
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if quoted {
		t.Errorf("an open quote in %q", line)
	}
	if in {
		out = append(out, b.String())
	}
	return out
}

// TestNetbootRefusedLeavesNothing: a build refused before anything is
// written removes the output directory it made, and leaves one that was
// there, with what it held, alone.
func TestNetbootRefusedLeavesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "www")
	err := Netboot(NetbootSpec{URL: "http://10.0.2.100/", LiveCDSpec: LiveCDSpec{Container: "bogus", Out: out}})
	if err == nil {
		t.Fatal("a container of kind bogus was not refused")
	}
	if _, serr := os.Stat(out); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("after the refusal (%v), %s is there: %v", err, out, serr)
	}
	mine := filepath.Join(t.TempDir(), "mine")
	if err := os.MkdirAll(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mine, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Netboot(NetbootSpec{URL: "http://10.0.2.100/", LiveCDSpec: LiveCDSpec{Container: "bogus", Out: mine}}); err == nil {
		t.Fatal("a container of kind bogus was not refused")
	}
	if _, err := os.Stat(filepath.Join(mine, "keep")); err != nil {
		t.Errorf("the refusal touched a directory that was there: %v", err)
	}
}
