// Package vmtests boots sandbox-init in QEMU (TCG: KVM does not work on the
// machines this project is tested on) with Debian's cloud kernel and asserts
// on what the booted system prints on its serial console.
//
// The tests need what scripts/setup.sh installs and fetches; without it they
// fail, they never skip.
package vmtests

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hugelgupf/vmtest/qemu"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// env is what TestMain built once for every test.
type env struct {
	dir       string
	kernel    mklive.Kernel
	initramfs mklive.InitramfsReport
	rootImage string // the test root, ext2
	cdISO     string // a data CD holding rootImage as /initrd-ext2
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
			fmt.Fprintf(os.Stderr, "vmtests: cannot build the test images: %v\n(run scripts/setup.sh first: it installs QEMU and fetches the test kernel)\n", err)
			return 1
		}
		return m.Run()
	}())
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

// kernelRoot is the unpacked Debian kernel scripts/setup.sh leaves in the
// cache, or SANDBOX_KERNEL_ROOT.
func kernelRoot() string {
	if d := os.Getenv("SANDBOX_KERNEL_ROOT"); d != "" {
		return d
	}
	cache := os.Getenv("SANDBOX_CACHE")
	if cache == "" {
		cache = filepath.Join(repoRoot(), ".cache")
	}
	return filepath.Join(cache, "kernel/root")
}

func build(dir string) error {
	if _, err := mklive.Need("qemu-system-x86_64"); err != nil {
		return err
	}
	k, err := mklive.FindKernel(kernelRoot())
	if err != nil {
		return err
	}
	initBin := filepath.Join(dir, "init")
	if err := mklive.BuildInit(repoRoot(), initBin); err != nil {
		return err
	}
	d, err := k.Deps()
	if err != nil {
		return err
	}
	req, opt := mklive.DefaultModules(d)
	rep, err := mklive.BuildInitramfs(mklive.InitramfsSpec{
		Init: initBin, Kernel: k, Required: req, Optional: opt,
		Out: filepath.Join(dir, "initramfs.img"),
	})
	if err != nil {
		return err
	}
	tree := filepath.Join(dir, "tree")
	initTool, err := os.ReadFile(initBin)
	if err != nil {
		return err
	}
	if err := mklive.BusyboxTree(tree, "", map[string]string{
		"sbin/init":        guestInit,
		"bin/sandbox-init": string(initTool),
	}); err != nil {
		return err
	}
	img := filepath.Join(dir, "root.ext2")
	if _, err := mklive.BuildRootImage(mklive.RootImageSpec{Tree: tree, Out: img, Label: "testroot"}); err != nil {
		return err
	}
	iso := filepath.Join(dir, "cd.iso")
	if err := dataISO(iso, "SANDBOXTEST", map[string]string{"initrd-ext2": img}); err != nil {
		return err
	}
	built = env{dir: dir, kernel: k, initramfs: rep, rootImage: img, cdISO: iso}
	return nil
}

// guestInit is the test root's /sbin/init: it reports what the booted
// system sees as "GUEST key=value" lines, writes to the sandbox, and powers
// off. The kmsg line gets the kernel's timestamp: the real init's start.
const guestInit = `#!/bin/sh
export PATH=/bin:/sbin
echo "realinit: first line" >/dev/kmsg
# Power off with builtins only (the root may be dead) and stop here.
off() { sync; echo o >/proc/sysrq-trigger; while :; do :; done; }
case "$guest" in
fill)
	# Write 256 KiB at a time, slowly enough for the watcher to see each
	# level, until the sandbox breaks. Only shell builtins after the
	# failure: exec'ing anything may need a read of the dead root.
	i=0
	while [ $i -lt 64 ]; do
		if ! dd if=/dev/urandom of=/fill$i bs=256K count=1 conv=fsync 2>/dev/null; then
			echo "GUEST fillerror=$i"
			break
		fi
		i=$((i + 1))
		sleep 0.2
	done
	sleep 2
	read -r u </run/sandbox/usage.json && echo "GUEST usage=$u"
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
esac
echo "GUEST pid=$$"
echo "GUEST root=$(awk '$2 == "/" {print $1, $3, substr($4, 1, 2)}' /proc/mounts)"
echo "GUEST cd=$(awk '$2 == "/mnt2" {print $1, $3, substr($4, 1, 2)}' /proc/mounts)"
echo "GUEST initramfs_init=$(test -e /init && echo present || echo gone)"
echo "GUEST shmem_kb=$(awk '/^Shmem:/ {print $2}' /proc/meminfo)"
echo "GUEST slaves=$(ls /sys/block/dm-0/slaves | tr '\n' ' ')"
for s in /sys/block/dm-0/slaves/*; do echo "GUEST ro_${s##*/}=$(cat $s/ro)"; done
echo "GUEST dmname=$(cat /sys/block/dm-0/dm/name)"
echo "GUEST watcher=$(for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' <$f; echo; done | grep '^sandbox-init watch' | cut -d' ' -f1-3)"
echo sandbox-write-test >/written && sync && echo "GUEST write=$(cat /written)"
dd if=/dev/urandom of=/big bs=1M count=4 2>/dev/null && sync && echo "GUEST bigwrite=$(stat -c %s /big)"
/bin/sandbox-init status | sed 's/^\([a-z]*\): /GUEST \1=/'
test -r /run/sandbox/state.json && echo "GUEST state=$(tr -d ' \n' </run/sandbox/state.json)"
sleep 1.2
read -r u </run/sandbox/usage.json && echo "GUEST usage=$u"
echo "GUEST done"
off
`

// dataISO writes a plain (non-bootable) ISO 9660 image holding files.
func dataISO(out, label string, files map[string]string) error {
	stage, err := os.MkdirTemp(filepath.Dir(out), "stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	for name, src := range files {
		if err := os.Link(src, filepath.Join(stage, name)); err != nil {
			return err
		}
	}
	return mklive.Run("xorriso", "-as", "mkisofs", "-quiet", "-o", out, "-V", label, "-r", stage)
}

// vm describes one boot.
type vm struct {
	append    []string // kernel parameters after the defaults
	qemu      []string // extra QEMU arguments (drives)
	initramfs string   // default: the built one
	kernel    string   // default: the built kernel; "" with noKernel for -cdrom boots
	noKernel  bool
	timeout   time.Duration
}

// console is what a boot printed.
type console struct{ text string }

// bootVM boots and returns the console once the VM is gone. The VM powers
// itself off (the guest init, or sandbox.onfail=poweroff).
func bootVM(t *testing.T, v vm) console {
	t.Helper()
	if v.timeout == 0 {
		v.timeout = 60 * time.Second
	}
	var out syncBuffer
	fns := []qemu.Fn{
		qemu.WithQEMUCommand("qemu-system-x86_64 -m 512 -no-reboot -smp 1"),
		qemu.WithVMTimeout(v.timeout),
		qemu.WithSerialOutput(&out),
		qemu.ArbitraryArgs(v.qemu...),
	}
	if !v.noKernel {
		initramfs := v.initramfs
		if initramfs == "" {
			initramfs = built.initramfs.Path
		}
		fns = append(fns,
			qemu.WithKernel(built.kernel.Vmlinuz()),
			qemu.WithInitramfs(initramfs),
			qemu.WithAppendKernel(append([]string{"console=ttyS0", "loglevel=7", "panic=-1", "sandbox.onfail=poweroff"}, v.append...)...))
	}
	m := qemu.StartT(t, t.Name(), qemu.ArchAMD64, fns...)
	err := m.Wait()
	c := console{text: out.String()}
	if err != nil && !strings.Contains(c.text, "reboot: Power down") {
		t.Logf("VM exited with %v", err)
	}
	return c
}

// guest returns the value of a "GUEST key=value" line.
func (c console) guest(key string) (string, bool) {
	re := regexp.MustCompile(`(?m)^GUEST ` + regexp.QuoteMeta(key) + `=(.*?)\r?$`)
	m := re.FindStringSubmatch(c.text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func (c console) mustGuest(t *testing.T, key string) string {
	t.Helper()
	v, ok := c.guest(key)
	if !ok {
		t.Fatalf("the guest did not report %q", key)
	}
	return v
}

func (c console) contains(s string) bool { return strings.Contains(c.text, s) }

// kernelStamp returns the kernel timestamp of the first console line
// matching re, in seconds.
func (c console) kernelStamp(re string) (float64, bool) {
	m := regexp.MustCompile(`\[\s*(\d+\.\d+)\] .*` + re).FindStringSubmatch(c.text)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	return f, err == nil
}

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

// syncBuffer is a WriteCloser QEMU's output goes to while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Close() error { return nil }

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
