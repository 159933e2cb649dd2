package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestISODiskCandidates(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"sdb1", "sda", "sdb", "sr0", "hdc", "loop0", "ram0", "zram0", "dm-0", "md0", "vda", "vda1", "nvme0n1", "nvme0n1p1", "mmcblk0", "mmcblk0p1", "mmcblk0boot0", "mmcblk0rpmb"} {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(isoDiskCandidates(dir), " ")
	if want := "/dev/hdc /dev/mmcblk0 /dev/mmcblk0p1 /dev/nvme0n1 /dev/nvme0n1p1 /dev/sda /dev/sdb /dev/sdb1 /dev/vda /dev/vda1"; got != want {
		t.Errorf("isoDiskCandidates = %q, want %q", got, want)
	}
}

func TestISONotFound(t *testing.T) {
	vda := &isoLook{dev: "/dev/vda", done: true}
	vda1 := &isoLook{dev: "/dev/vda1", done: true, vol: volume{FS: "vfat", Label: "STICK", UUID: "1234-ABCD"}, why: "no /isos/missing.iso: no such file or directory"}
	sdb := &isoLook{dev: "/dev/sdb", why: "read /dev/sdb: input/output error"}
	for _, tc := range []struct {
		want string
		seen []*isoLook
		why  []string
		hint string
	}{
		{"", []*isoLook{vda, vda1, sdb}, []string{"/isos/missing.iso is on none of the disks: /dev/vda (no ext4, vfat or exfat); " +
			"/dev/vda1 (vfat, LABEL=STICK, UUID=1234-ABCD): no /isos/missing.iso: no such file or directory; /dev/sdb (unreadable: read /dev/sdb: input/output error)"}, "check the path (ext4 names are case-sensitive); in the rescue shell: mount -o ro /dev/vda1 /mnt"},
		{"", nil, []string{"no disk appeared"}, "attach the disk"},
		{"LABEL=OTHER", []*isoLook{vda, vda1}, []string{"no file system with LABEL=OTHER among /dev/vda (no ext4, vfat or exfat); /dev/vda1 (vfat, LABEL=STICK, UUID=1234-ABCD)"}, "fix LABEL=OTHER in sandbox.iso= (labels and UUIDs as blkid shows them), or name the partition: sandbox.iso=/dev/vda1:/isos/missing.iso"},
		{"/dev/sdc1", nil, []string{"/dev/sdc1 did not appear"}, "check the device name"},
		{"/dev/sdb", []*isoLook{sdb}, []string{"/dev/sdb (unreadable: read /dev/sdb: input/output error)"}, "check the disk"},
	} {
		why, hint := isoNotFound(ref(tc.want), "/isos/missing.iso", tc.seen)
		for _, w := range tc.why {
			if why != w {
				t.Errorf("isoNotFound(%q) = %q, want %q", tc.want, why, w)
			}
		}
		if !strings.HasPrefix(hint, tc.hint) {
			t.Errorf("isoNotFound(%q) hint = %q, want it to start with %q", tc.want, hint, tc.hint)
		}
	}
}

func TestListNear(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "isos"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"isos/a.iso", "isos/b.iso", "readme"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for file, want := range map[string]string{
		"/isos/missing.iso":  "/isos/a.iso /isos/b.iso",
		"/other/missing.iso": "/isos /readme",
		"/missing.iso":       "/isos /readme",
	} {
		if got := listNear(root, file); got != want {
			t.Errorf("listNear(%q) = %q, want %q", file, got, want)
		}
	}
}

// openInRoot resolves the ISO file's path inside the disk's mount: an
// absolute symlink means the disk's own file, and neither a symlink nor
// ".." leads out of it; only a regular file is taken (a FIFO does not
// block).
func TestOpenInRoot(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.iso")
	root := filepath.Join(outside, "disk")
	for p, target := range map[string]string{
		"isos/escape.iso": secret,             // absolute: the disk's own /…/secret.iso, which is not there
		"isos/up.iso":     "../../secret.iso", // .. stops at the disk's root
		"isos/abs.iso":    "/isos/real.iso",   // the disk's /isos/real.iso
		"isos/rel.iso":    "real.iso",
	} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	for p, content := range map[string]string{secret: "outside", filepath.Join(root, "isos/real.iso"): "inside"} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(root, "isos/fifo.iso"), 0o644); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"/isos/real.iso": "inside", "/isos/abs.iso": "inside", "/isos/rel.iso": "inside",
		"/isos/escape.iso": "", "/isos/up.iso": "", "/../secret.iso": "", "/isos/fifo.iso": "", "/isos": "",
	} {
		f, err := openInRoot(root, file)
		if want == "" {
			if err == nil {
				b, _ := io.ReadAll(f)
				f.Close()
				t.Errorf("openInRoot(%s) opened %q, want an error", file, b)
			}
			continue
		}
		if err != nil {
			t.Errorf("openInRoot(%s): %v", file, err)
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != want {
			t.Errorf("openInRoot(%s) read %q, want %q", file, b, want)
		}
	}
}
