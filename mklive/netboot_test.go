package mklive

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A netboot tree with a fake kernel that has virtio_net: its files, the
// NIC driver in its initramfs, boot.ipxe's lines with the command line
// under -url (or iPXE's ${next-server}), and the root hash on it, which
// veritysetup checks against the served image and tree.
func TestNetbootTree(t *testing.T) {
	needTools(t, "mke2fs", "mksquashfs", "veritysetup")
	k := liveKernel(t)
	nic := "kernel/drivers/net/virtio_net.ko"
	mods := filepath.Join(k.Root, "lib/modules", k.Version)
	writeFile(t, filepath.Join(mods, nic), moduleBytes(nic))
	dep, err := os.ReadFile(filepath.Join(mods, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(mods, "modules.dep"), append(dep, nic+":\n"...))
	initBin := filepath.Join(t.TempDir(), "init")
	writeFile(t, initBin, []byte("#!/bin/sh\n"))
	tree := smallTree(t)
	for _, tc := range []struct{ url, base string }{
		{"http://10.0.2.100/live/", "http://10.0.2.100/live"},
		{"", "http://${next-server}"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "www")
			var log []string
			err := Netboot(NetbootSpec{URL: tc.url, LiveCDSpec: LiveCDSpec{Kernel: k, Init: initBin, Root: tree, Container: "zstd", Size: 64 << 20, Out: out,
				Append: "sandbox.cowsize=64M", Log: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }}})
			if err != nil {
				t.Fatal(err)
			}
			checkNetbootFiles(t, k, out)
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

// checkNetbootFiles checks a tree's files: the kernel as it is, the
// initramfs with the NIC driver and dm-verity, nothing else.
func checkNetbootFiles(t *testing.T, k Kernel, out string) {
	t.Helper()
	var files []string
	filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, strings.TrimPrefix(p, out+"/"))
		}
		return nil
	})
	if want := "LiveOS/squashfs.img LiveOS/squashfs.img.verity boot.ipxe initrd.img vmlinuz"; strings.Join(files, " ") != want {
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
