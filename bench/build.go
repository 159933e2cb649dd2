package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// images is everything the boots share, built once: testvm's init, test
// root and data CD (the root as /initrd-ext2), and the two initramfs.
type images struct {
	testvm.Images
	kernel  mklive.Kernel
	cdInit  string // the init a CD boots with (-tags nonet), as mklive iso builds it
	ours    initramfs
	recipe  initramfs
	timeout time.Duration // -timeout: the limit of one boot
	qemu    []string      // more QEMU arguments for every boot (-icount)
}

type initramfs struct {
	path     string
	gz       int64    // compressed size
	unpacked int64    // sum of the file sizes: RAM the rootfs holds until switch_root
	modules  []string // the recipe's: what its /init insmods, in order
}

// build makes what the experiment's plan asks for with the kernel of its
// options.
func build(repo, work string, o *common, p plan) (*images, error) {
	for _, tool := range []string{"qemu-system-x86_64", "xorriso", "mke2fs", "cpio", "gzip", "bash", "apt-get", "dpkg", "ldd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed (run scripts/bench.sh, which runs scripts/setup.sh)", tool)
		}
	}
	k, err := kernel(repo, o.kernel)
	if err != nil {
		return nil, err
	}
	logf("building sandbox-init, the test root image and the data CD")
	// Room for io's file on / (the file system must hold it, not only the
	// COW store), plus the tree itself.
	im, err := testvm.BuildImages(testvm.ImageSpec{Repo: repo, Dir: work, GuestInit: guestInit,
		RootSize: uint64(p.rootMiB) << 20, CDLabel: "SANDBOXBENCH"})
	if err != nil {
		return nil, err
	}
	img := &images{Images: im, kernel: k, timeout: o.timeout}
	if o.icount >= 0 {
		// sleep=on: with sleep=off the clock jumped, whenever the guest
		// idled, to the next timer's deadline, even while it waited for
		// I/O the host had not done yet: a boot's CD reads then counted
		// up to the watcher's next 1 s tick (32 ms in one boot, 720 ms in
		// the next). Idle time now passes as on the host, so I/O counts
		// what it takes; the instructions run still count alone.
		img.qemu = []string{"-icount", fmt.Sprintf("shift=%d,sleep=on", o.icount)}
	}
	if o.cpu != "" {
		// A CPU model with more of the x86 extensions (-cpu max: SSSE3,
		// AVX2) lets the kernel's sha256_ssse3 take dm-verity's hashing.
		img.qemu = append(img.qemu, "-cpu", o.cpu)
	}
	// The CDs boot the init mklive iso and mklive initramfs build for a
	// medium that is not the network (-tags nonet: no DHCP, HTTP or NBD
	// client). The test root and bench net keep the images' network
	// build (img.Init), 1.5 MB larger, with more package inits to run.
	img.cdInit = filepath.Join(work, "init-cd")
	if err := mklive.BuildInit(repo, img.cdInit, mklive.InitTags(false, "")...); err != nil {
		return nil, err
	}
	logf("building our initramfs for kernel %s", k.Version)
	rep, err := testvm.DefaultInitramfs(k, img.cdInit, filepath.Join(work, "ours.cpio.gz"), nil)
	if err != nil {
		return nil, err
	}
	img.ours = initramfs{path: rep.Path, gz: rep.Compressed, unpacked: rep.Unpacked}
	if !p.recipe {
		return img, nil // media, verity and work boot our initramfs only
	}
	logf("building the how-to's recipe initramfs (busybox sh, Debian's dmsetup)")
	if img.recipe, err = buildRecipe(testvm.CacheDir(repo), img); err != nil {
		return nil, err
	}
	return img, nil
}

// kernel is the kernel the boots use: the tree $SANDBOX_KERNEL_ROOT names,
// or the named one of the cache (-kernel).
func kernel(repo, name string) (mklive.Kernel, error) {
	if root := os.Getenv("SANDBOX_KERNEL_ROOT"); root != "" {
		return mklive.FindKernel(root, "")
	}
	return testvm.Kernel(testvm.CacheDir(repo), name)
}

// guestInit is the test root's /sbin/init, the same for every variant. Its
// first act stamps the kernel log: that is "the real init runs". Then it
// reports "BENCH key=value" lines (memory, state.json, df of /), and for
// io (bench.io on the command line) writes into the sandbox and into
// a raw brd disk, and powers off.
// Timing uses kernel stamps on /dev/kmsg lines, not busybox dd's rounding.
const guestInit = `#!/bin/sh
echo "realinit: first line" >/dev/kmsg
export PATH=/bin:/sbin
echo "BENCH mem=$(awk '/^(MemTotal|MemFree|MemAvailable|Shmem):/ {printf "%s%s ", $1, $2}' /proc/meminfo)"
echo "BENCH initramfs_init=$(test -e /init && echo present || echo gone)"
test -r /run/sandbox/state.json && echo "BENCH state=$(tr -d '\n' </run/sandbox/state.json)"
# The root's size, used and free space (KiB), as df shows them (bench media).
echo "BENCH df=$(df -Pk / | awk 'NR==2 {print $2, $3, $4}')"
# sandbox-init copies its log to /dev/kmsg: this line's kernel stamp is on
# the same clock as "Run /init" and ours.
dmesg | grep -m1 'sandbox-init: switch_root' | sed 's/^/BENCH kmsg_switch=/'
if grep -qw bench.io /proc/cmdline; then
	mib=$(sed -n 's/.*bench\.mib=\([0-9]*\).*/\1/p' /proc/cmdline)
	# MemFree with the page cache dropped: what stays is brd's pages and the
	# snapshot's exception tables, not the file's cached copy.
	free_kb() { sync; echo 3 >/proc/sys/vm/drop_caches; awk '/^MemFree:/ {print $2}' /proc/meminfo; }
	cow() { sandbox-init status 2>/dev/null | grep '^status:'; }
	measure() {
		c0=$(cow); m0=$(free_kb)
		echo "bench: dd start $1" >/dev/kmsg
		dd if=/dev/zero of=$2 bs=1M count=$mib conv=fsync 2>/dev/null || echo "BENCH $1_error=dd to $2 failed"
		echo "bench: dd end $1" >/dev/kmsg
		echo "BENCH $1_free_kb=$m0 $(free_kb)"
		echo "BENCH $1_cow=$c0|$(cow)"
	}
	measure cow /bench.dat
	# Small writes: 200 files of 100 bytes, what a live system mostly does.
	# The COW growth per file shows what a larger chunk costs them.
	c0=$(cow); mkdir -p /small; i=0
	while [ $i -lt 200 ]; do echo "small write $i of a live system's day" >/small/f$i; i=$((i + 1)); done
	sync; echo "BENCH small_cow=$c0|$(cow)"
	# A second RAM disk for the raw baseline: brd makes rd_nr disks at load
	# (16 by default), and on 6.1 opening a missing /dev/ramN node creates
	# disk N (CONFIG_BLOCK_LEGACY_AUTOLOAD) when rd_nr gave fewer.
	if [ -b /dev/ram1 ]; then echo "BENCH ram1=native"; else mknod /dev/ram1 b 1 1 && echo "BENCH ram1=mknod"; fi
	measure raw /dev/ram1
	# The same file write on ext2 straight on brd (ram2): against this, the
	# sandbox's figure is the snapshot's own cost, file system cost aside.
	[ -b /dev/ram2 ] || mknod /dev/ram2 b 1 2
	mke2fs -q -b 4096 /dev/ram2 >/dev/null 2>&1 && mkdir -p /tmp/fs && mount -t ext2 /dev/ram2 /tmp/fs &&
		measure fs /tmp/fs/bench.dat || echo "BENCH fs_error=ext2 on /dev/ram2 failed"
fi
if grep -qw bench.read /proc/cmdline; then
	# bench verity: the first read of a big file, every block through the
	# snapshot (and dm-verity) from the CD.
	sync; echo 3 >/proc/sys/vm/drop_caches
	echo "bench: read start" >/dev/kmsg
	cat /bench.big >/dev/null && r=ok || r=failed
	echo "bench: read end" >/dev/kmsg
	echo "BENCH read=$r"
fi
url=$(sed -n 's/.*bench\.wget=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$url" ]; then
	# bench net: the link's raw rate, the same file to /dev/null.
	t0=$(cut -d' ' -f1 /proc/uptime)
	wget -q -O /dev/null "$url" && r=ok || r=failed
	echo "BENCH wget=$r $t0 $(cut -d' ' -f1 /proc/uptime)"
fi
echo "BENCH done"
poweroff -f
`
