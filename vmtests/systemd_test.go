package vmtests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// systemdCheck runs as a oneshot unit once the Debian root is up: it reports
// on the console, writes 160 MiB (ten times brd's default size, which a
// real systemd boot could not survive, and more than the 100 MiB an
// uncompressed image of this root had free), and powers off.
const systemdCheck = `#!/bin/sh
exec >/dev/console 2>&1
echo "SYSTEMD pid1=$(cat /proc/1/comm)"
echo "SYSTEMD root=$(awk '$2 == "/" {print $1, $3, substr($4, 1, 2)}' /proc/mounts)"
echo "SYSTEMD cd=$(awk '$2 == "/mnt2" {print $1, $3}' /proc/mounts)"
echo "SYSTEMD rootfree_kb=$(df -k / | awk 'NR == 2 {print $4}')"
dd if=/dev/zero of=/var/tmp/big bs=1M count=160 conv=fsync 2>/dev/null && echo "SYSTEMD write=$(stat -c %s /var/tmp/big)"
sleep 1.5
echo "SYSTEMD usage=$(cat /run/sandbox/usage.json)"
systemctl poweroff
`

// TestDebianSystemd boots a real distribution: a debootstrap'd Debian whose
// /sbin/init is systemd (an absolute symlink into a merged /usr), from a
// Live CD built by mklive and booted from -cdrom alone.
func TestDebianSystemd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tree := filepath.Join(dir, "root")
	if err := testvm.DebianTree(built.cache, tree, "sandbox-check", systemdCheck); err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(dir, "debian.iso")
	if err := mklive.LiveCD(mklive.LiveCDSpec{Kernel: built.kernel, Init: filepath.Join(built.dir, "init"), Root: tree,
		Label: "DEBIANLIVE", Append: "sandbox.onfail=poweroff", Container: "zstd", Out: iso, Log: t.Logf}); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(tree)
	c := bootVM(t, vm{noKernel: true, qemu: []string{"-m", "1024", "-cdrom", iso}, timeout: 180 * time.Second})
	for key, want := range map[string]string{
		"pid1":  "systemd",
		"root":  "/dev/mapper/sandbox ext4 rw",
		"cd":    "/dev/sr0 iso9660",
		"write": "167772160",
	} {
		if got, ok := systemdValue(c, key); got != want {
			t.Errorf("SYSTEMD %s = %q (reported: %v), want %q", key, got, ok, want)
		}
	}
	u, _ := systemdValue(c, "usage")
	if !strings.Contains(u, `"invalid":false`) {
		t.Errorf("usage.json after the write: %q", u)
	}
	// Room to write: / has at least the COW store's size free.
	var usage struct {
		Total uint64 `json:"total_sectors"`
	}
	free, _ := systemdValue(c, "rootfree_kb")
	var freeKB uint64
	if _, err := fmtSscan(free, &freeKB); err != nil || json.Unmarshal([]byte(u), &usage) != nil || freeKB*2 < usage.Total {
		t.Errorf("/ has %s KiB free, the COW store %d sectors: the image leaves no room (%v)", free, usage.Total, err)
	}
	// mklive's default: the container checked by dm-verity as it is read.
	if !c.contains("container /LiveOS/squashfs.img (squashfs on /dev/mapper/sandbox-verity) holds LiveOS/rootfs.img") {
		t.Errorf("the root did not come from the compressed container, verified")
	}
	if !c.contains("Welcome to ") || c.contains("FAILED in phase") {
		t.Errorf("systemd did not come up in the sandbox")
	}
	// At power-off systemd hands back to /run/initramfs/shutdown: the
	// how-to's "umount; dmsetup remove sandbox", done by sandbox-init.
	for _, want := range []string{"sandbox-init: shutdown: poweroff: taking the sandbox down", "sandbox-init: shutdown: snapshot sandbox removed", "reboot: Power down"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
}

// systemdValue finds a "SYSTEMD key=value" report anywhere in a line: a
// getty's prompt ("vm login: ") can share the console line it starts on.
func systemdValue(c console, key string) (string, bool) {
	for _, line := range strings.Split(c.Text, "\n") {
		if _, v, ok := strings.Cut(strings.TrimRight(line, "\r"), "SYSTEMD "+key+"="); ok {
			return v, true
		}
	}
	return "", false
}
