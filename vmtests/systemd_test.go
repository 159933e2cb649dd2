package vmtests

import (
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
mkfifo /var/tmp/tick
systemctl poweroff --no-block
exec bash -c 'exec -a @sigint bash -c "$0"' "$ctrlaltdel"
`

// ctrlAltDel is Ctrl-Alt-Del during systemd's hand-back: the kernel sends
// systemd's PID 1 a SIGINT for it, and so PID 1 /run/initramfs/shutdown too.
// It runs as a process systemd's last kill spares (argv[0] begins with '@',
// as a root storage daemon's; its unit has KillMode=none), with builtins
// only (read -t on a FIFO of its own is its sleep): it waits until PID 1 is
// the shutdown, says which argv[0] the COW watcher has then (that kill is
// over: the watcher must have been spared as well), waits a quarter of a
// second more, sends PID 1 SIGINT 10 times, 50 ms apart, and ends (the
// snapshot it kept open can then go). The delay:
// from the exec to the first line of main, Go's runtime has its own SIGINT
// handler, which exits; a SIGINT there (a few ms; under a loaded TCG host
// once more than 20 ms) still ends PID 1 (README: Known limits).
const ctrlAltDel = `
trap "" TERM INT HUP
exec 3<>/var/tmp/tick
until read -r c </proc/1/comm && [ "$c" = shutdown ]; do read -t 0.02 -u 3; done
w=none
for f in /proc/[0-9]*/cmdline; do
	{ read -r -d "" a0 && read -r -d "" a1; } <"$f" 2>/dev/null && [ "$a1" = watch ] && w=$a0
done
echo "SYSTEMD watcher_at_shutdown=$w"
read -t 0.25 -u 3
n=0
while [ $n -lt 10 ] && kill -INT 1; do n=$((n + 1)); read -t 0.05 -u 3; done
echo "SYSTEMD sigint=$n"
`

// TestDebianSystemd boots a real distribution: a debootstrap'd Debian whose
// /sbin/init is systemd (an absolute symlink into a merged /usr), from a
// Live CD built by mklive and booted from -cdrom alone.
func TestDebianSystemd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tree := filepath.Join(dir, "root")
	script := strings.Replace(systemdCheck, "#!/bin/sh\n", "#!/bin/sh\nctrlaltdel='"+ctrlAltDel+"'\n", 1)
	if err := testvm.DebianTree(built.cache, tree, "sandbox-check", script); err != nil {
		t.Fatal(err)
	}
	dropIn := filepath.Join(tree, "etc/systemd/system/sandbox-check.service.d")
	if err := os.MkdirAll(dropIn, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dropIn, "survive.conf"), []byte("[Service]\nKillMode=none\n"), 0o644); err != nil {
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
	js, _ := systemdValue(c, "usage")
	u := parseUsage(t, js)
	if u.Invalid {
		t.Errorf("usage.json after the write: %q", js)
	}
	// Room to write: / has at least the COW store's size free.
	free, _ := systemdValue(c, "rootfree_kb")
	var freeKB uint64
	if _, err := fmtSscan(free, &freeKB); err != nil || freeKB*2 < u.TotalSectors {
		t.Errorf("/ has %s KiB free, the COW store %d sectors: the image leaves no room (%v)", free, u.TotalSectors, err)
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
	// Ctrl-Alt-Del during it (SIGINT to PID 1) must not end PID 1 (Go's
	// default: exit(2), "Attempted to kill init! exitcode=0x00000200").
	if got, _ := systemdValue(c, "watcher_at_shutdown"); got != "@sandbox-init" {
		t.Errorf("when /run/initramfs/shutdown took over, the watcher was %q, want @sandbox-init (spared by systemd's last kill)", got)
	}
	for _, want := range []string{"sandbox-init: shutdown: poweroff: taking the sandbox down", "SYSTEMD sigint=10",
		"interrupt ignored: the poweroff under way goes on", "sandbox-init: shutdown: snapshot sandbox removed", "reboot: Power down"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if c.contains("Attempted to kill init") {
		t.Errorf("PID 1 died during the shutdown")
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
