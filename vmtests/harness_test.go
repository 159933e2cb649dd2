// Package vmtests boots sandbox-init in QEMU (TCG: KVM does not work on the
// machines this project is tested on) with Debian's kernels and asserts on
// what the booted system prints on its serial console and its screen.
//
// The tests need what scripts/setup.sh installs and fetches; without it they
// fail, they never skip.
package vmtests

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// env is what TestMain built once for every test.
type env struct {
	dir       string
	cache     string
	kernel    mklive.Kernel // the default test kernel: Debian 12's cloud kernel
	initramfs mklive.InitramfsReport
	rootImage string // the test root, ext2
	cdISO     string // a data CD holding rootImage as /initrd-ext2
	// kernels holds every kernel of testvm.Kernels with its initramfs.
	kernels map[string]kernelImages
}

type kernelImages struct {
	kernel    mklive.Kernel
	initramfs mklive.InitramfsReport
}

var built env // set once by TestMain, read-only after

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "sandbox-vmtests-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := build(dir); err != nil {
			fmt.Fprintf(os.Stderr, "vmtests: cannot build the test images: %v\n(run scripts/setup.sh first: it installs QEMU and fetches the test kernels)\n", err)
			return 1
		}
		return m.Run()
	}())
}

func build(dir string) error {
	if _, err := hostcmd.Need("qemu-system-x86_64"); err != nil {
		return err
	}
	repo, err := testvm.RepoRoot()
	if err != nil {
		return err
	}
	built = env{dir: dir, cache: testvm.CacheDir(repo), kernels: map[string]kernelImages{}}
	im, err := testvm.BuildImages(testvm.ImageSpec{Repo: repo, Dir: dir, GuestInit: guestInit, RootLabel: "testroot", CDLabel: "SANDBOXTEST"})
	if err != nil {
		return err
	}
	built.rootImage, built.cdISO = im.Root, im.CD
	for _, name := range testvm.Kernels {
		k, err := testvm.Kernel(built.cache, name)
		if err != nil {
			return err
		}
		rep, err := im.Initramfs(k, filepath.Join(dir, "initramfs-"+name+".img"), nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "vmtests: kernel %s (%s): initramfs %d bytes (%d unpacked), %d modules\n", name, k.Version, rep.Compressed, rep.Unpacked, len(rep.Modules))
		built.kernels[name] = kernelImages{kernel: k, initramfs: rep}
	}
	built.kernel = built.kernels[testvm.Cloud12].kernel
	built.initramfs = built.kernels[testvm.Cloud12].initramfs
	return nil
}

// defaultInitramfs builds the initramfs mklive makes by default for a
// kernel (every driver it has) with the test init, changed by edit.
func defaultInitramfs(k mklive.Kernel, out string, edit func(*mklive.InitramfsSpec)) (mklive.InitramfsReport, error) {
	return testvm.DefaultInitramfs(k, filepath.Join(built.dir, "init"), out, edit)
}

// guestInit is the test root's /sbin/init: it reports what the booted
// system sees as "GUEST key=value" lines, writes to the sandbox, and powers
// off. The kmsg line gets the kernel's timestamp: the real init's start.
const guestInit = `#!/bin/sh
export PATH=/bin:/sbin
echo "realinit: first line" >/dev/kmsg
# Power off with builtins only (the root may be dead) and stop here.
off() { sync; echo o >/proc/sysrq-trigger; while :; do :; done; }
# A disc in a second drive with guest.sh on it: the test's own steps run
# first (the Secure Boot tests enroll keys from here, as a user would).
if [ -b /dev/sr1 ]; then
	mkdir -p /hook
	for d in /dev/sr*; do
		mount -r -t iso9660 $d /hook 2>/dev/null || continue
		[ -f /hook/guest.sh ] && . /hook/guest.sh
		umount /hook
	done
fi
case "$guest" in
fill)
	# Write 256 KiB at a time, every $fillsleep seconds (0.2: slowly
	# enough for a watcher that looks every 50 ms to see each level), until
	# the COW store is full. With store N only shell builtins follow the
	# failure: exec'ing anything may need a read of the dead root. With
	# fillcheck set (store PO) the system must live on: read back the base
	# and what was written, with the page cache dropped, and try a write.
	echo kept-before-the-fill >/kept && sync
	base=$(sha256sum /bin/busybox)
	i=0
	while [ $i -lt 160 ]; do
		if ! dd if=/dev/urandom of=/fill$i bs=256K count=1 conv=fsync 2>/dev/null; then
			echo "GUEST fillerror=$i"
			break
		fi
		i=$((i + 1))
		sleep ${fillsleep:-0.2}
	done
	sleep 2
	read -r u </run/sandbox/usage.json && echo "GUEST usage=$u"
	if [ -n "$fillcheck" ]; then
		echo 3 >/proc/sys/vm/drop_caches
		echo "GUEST kept=$(cat /kept 2>&1)"
		[ "$(sha256sum /bin/busybox)" = "$base" ] && echo "GUEST basesame=yes" || echo "GUEST basesame=no"
		echo "GUEST ls=$(ls / | wc -l)"
		dd if=/dev/zero of=/more bs=64K count=1 conv=fsync 2>/dev/null && echo "GUEST newwrite=ok" || echo "GUEST newwrite=refused"
		/bin/sandbox-init status | sed -n 's/^cow: /GUEST cowstatus=/p'
	fi
	echo "GUEST done"
	off
	;;
persist-write)
	echo "kept across boots" >/persisted && sync && echo "GUEST persisted=$(cat /persisted)"
	echo "GUEST done"; off
	;;
persist-read)
	echo "GUEST persisted=$(cat /persisted 2>&1)"
	echo "GUEST done"; off
	;;
eject)
	# sandbox.toram: the system runs from RAM, so the CD can go. The test
	# ejects it (QEMU's monitor: it fails while the drive is locked); then
	# read the base (page cache dropped) and write.
	base=$(sha256sum /bin/busybox)
	echo "GUEST eject-now"
	read -r answer # the test types a line once the tray is open
	# Opening the drive makes the kernel look at the disc: no medium now.
	dd if=/dev/sr0 of=/dev/null bs=2048 count=1 2>/dev/null && echo "GUEST media=present" || echo "GUEST media=gone"
	echo 3 >/proc/sys/vm/drop_caches
	[ "$(sha256sum /bin/busybox)" = "$base" ] && echo "GUEST basesame=yes" || echo "GUEST basesame=no"
	echo after-eject >/after && sync && echo "GUEST after=$(cat /after)"
	test -r /run/sandbox/state.json && echo "GUEST state=$(tr -d '\n' </run/sandbox/state.json)"
	echo "GUEST done"
	off
	;;
verity)
	# sandbox.verity: read /canary, whose blocks the test may have
	# damaged on the medium, with nothing in the page cache; then give the
	# watcher (it looks every second) time to report.
	echo 3 >/proc/sys/vm/drop_caches
	if cat /canary >/dev/null 2>/canary.err; then echo "GUEST canary=read"; else echo "GUEST canary=failed: $(cat /canary.err)"; fi
	sleep 2.5
	/bin/sandbox-init status | sed -n 's/^verity: /GUEST verity=/p'
	read -r u </run/sandbox/usage.json && echo "GUEST usage=$u"
	if [ -n "$hold" ]; then echo "GUEST hold"; while :; do sleep 60; done; fi
	echo "GUEST done"
	off
	;;
nbd)
	# sandbox.url=nbd://: the test kills the NBD server once told, and
	# starts it again seconds later; the reads made meanwhile (the page
	# cache dropped) wait for the watcher's reconnect and must read the
	# same bytes as before.
	echo 3 >/proc/sys/vm/drop_caches
	before=$(sha256sum </canary)
	echo "GUEST nbd-kill-now"
	read -r answer # the test types a line once the server is dead
	echo 3 >/proc/sys/vm/drop_caches
	after=$(sha256sum </canary)
	echo "GUEST canary_before=${before%% *}"
	echo "GUEST canary_after=${after%% *}"
	/bin/sandbox-init status | sed -n 's/^nbd: /GUEST nbdstatus=/p'
	test -r /run/sandbox/state.json && echo "GUEST state=$(tr -d '\n' </run/sandbox/state.json)"
	echo "GUEST done"
	off
	;;
hold)
	# Stay up and quiet, so the test can read the screen as boot left it.
	echo "GUEST hold"
	while :; do sleep 60; done
	;;
esac
echo "GUEST pid=$$"
echo "GUEST root=$(awk '$2 == "/" {print $1, $3, substr($4, 1, 2)}' /proc/mounts)"
echo "GUEST cd=$(awk '$2 == "/mnt2" {print $1, $3, substr($4, 1, 2)}' /proc/mounts)"
echo "GUEST live=$(awk '$3 == "squashfs" {print $2}' /proc/mounts)"
echo "GUEST initramfs_init=$(test -e /init && echo present || echo gone)"
echo "GUEST shmem_kb=$(awk '/^Shmem:/ {print $2}' /proc/meminfo)"
# The snapshot's dm device: dm-0, or dm-1 over sandbox.verity's dm-0.
snap=/sys/block/dm-0
for d in /sys/block/dm-*; do [ "$(cat $d/dm/name)" = "${sandboxname:-sandbox}" ] && snap=$d; done
echo "GUEST slaves=$(ls $snap/slaves | tr '\n' ' ')"
for s in $snap/slaves/*; do echo "GUEST ro_${s##*/}=$(cat $s/ro)"; done
echo "GUEST dmname=$(cat $snap/dm/name)"
echo "GUEST watcher=$(for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' <$f; echo; done | grep -E '^@?sandbox-init watch ' | cut -d' ' -f1-3)"
echo sandbox-write-test >/written && sync && echo "GUEST write=$(cat /written)"
echo "GUEST rootfree_kb=$(df -k / | awk 'NR == 2 {print $4}')"
dd if=/dev/urandom of=/big bs=1M count=${bigmib:-4} 2>/dev/null && sync && echo "GUEST bigwrite=$(stat -c %s /big)"
/bin/sandbox-init status | sed 's/^\([a-z]*\): /GUEST \1=/'
test -r /run/sandbox/state.json && echo "GUEST state=$(tr -d '\n' </run/sandbox/state.json)"
sleep 1.2
read -r u </run/sandbox/usage.json && echo "GUEST usage=$u"
echo "GUEST done"
off
`

// dataISO writes a plain (non-bootable) ISO 9660 image holding files.
var dataISO = testvm.DataISO

// vm describes one boot, by default a direct kernel boot of the cloud
// kernel and its initramfs.
type vm struct {
	append    []string // kernel parameters after the defaults
	qemu      []string // extra QEMU arguments (drives)
	drives    []testvm.Drive
	nets      []testvm.Net
	kernel    string // a kernel of testvm.Kernels; default: the cloud kernel
	initramfs string // default: the kernel's built one
	noKernel  bool   // boot the drives' boot loader (firmware boot)
	// scratch are the image files this boot may write (a COW disk):
	// after a failure every other one must be as it was.
	scratch []string
	// secureBoot: UEFI firmware enforcing Secure Boot with Microsoft's
	// keys, on q35 (testvm.Machine.SecureBoot); with noKernel.
	secureBoot bool
	vars       string // with secureBoot: the firmware's variable store, used as it is
	timeout    time.Duration
	memoryMiB  int    // the machine's RAM; default testvm.Machine's
	screen     string // console text at which to read the screen and stop
	session    func(*testvm.Session)
}

// console is what a boot printed.
type console struct{ testvm.Console }

// bootVM boots and returns the console once the VM is gone. The VM powers
// itself off (the guest init, or sandbox.onfail=poweroff).
func bootVM(t *testing.T, v vm) console {
	t.Helper()
	m := testvm.Machine{Drives: v.drives, Nets: v.nets, QEMU: v.qemu, Timeout: v.timeout, Screen: v.screen, Session: v.session, SecureBoot: v.secureBoot, Vars: v.vars, MemoryMiB: v.memoryMiB}
	if m.Timeout == 0 {
		m.Timeout = 120 * time.Second // a loaded 2-core host: TCG boots slow down several times
	}
	if !v.noKernel {
		name := v.kernel
		if name == "" {
			name = testvm.Cloud12
		}
		k := built.kernels[name]
		m.Kernel, m.Initramfs = k.kernel.Vmlinuz(), k.initramfs.Path
		if v.initramfs != "" {
			m.Initramfs = v.initramfs
		}
		m.Append = withDefaults(v.append, "console=ttyS0", "loglevel=7", "panic=-1", "sandbox.onfail=poweroff")
	}
	return console{testvm.Boot(t, m)}
}

// withDefaults puts each default parameter before args unless args give
// that key (a test that sets console= or sandbox.onfail= chooses them).
func withDefaults(args []string, defaults ...string) []string {
	var out []string
	for _, d := range defaults {
		key, _, _ := strings.Cut(d, "=")
		if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, key+"=") }) {
			out = append(out, d)
		}
	}
	return append(out, args...)
}

// guest returns the value of a "GUEST key=value" line.
func (c console) guest(key string) (string, bool) { return c.Value("GUEST", key) }

func (c console) mustGuest(t *testing.T, key string) string {
	t.Helper()
	v, ok := c.guest(key)
	if !ok {
		t.Fatalf("the guest did not report %q", key)
	}
	return v
}

func (c console) contains(s string) bool { return c.Contains(s) }

func sha256File(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
