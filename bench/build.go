package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sandbox-init/sandbox-init/mklive"
)

// images is everything the boots share, built once.
type images struct {
	dir    string
	kernel mklive.Kernel
	ours   initramfs
	recipe initramfs
	iso    string // data CD with the test root as /initrd-ext2
}

type initramfs struct {
	path     string
	gz       int64 // compressed size
	unpacked int64 // sum of the file sizes: RAM the rootfs holds until switch_root
}

// rdSizeKiB is the RAM disk both variants get: the recipe's brd rd_size=
// and our sandbox.cowsize=, so the COW stores are alike.
const rdSizeKiB = 262144

// recipeModules is the how-to's load order for an IDE CD-ROM plus the
// sandbox (measured.md), each module after the ones it needs.
var recipeModules = []string{"scsi_common", "scsi_mod", "libata", "ata_piix", "cdrom", "sr_mod",
	"isofs", "loop", "brd", "dm_mod", "dm_bufio", "dm_snapshot"}

func build(repo, work string) (*images, error) {
	for _, tool := range []string{"qemu-system-x86_64", "xorriso", "mke2fs", "cpio", "gzip", "bash", "apt-get", "dpkg", "ldd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed (run scripts/bench.sh, which runs scripts/setup.sh)", tool)
		}
	}
	kroot := os.Getenv("SANDBOX_KERNEL_ROOT")
	if kroot == "" {
		kroot = filepath.Join(cacheDir(repo), "kernel/root")
	}
	k, err := mklive.FindKernel(kroot, "")
	if err != nil {
		return nil, err
	}
	img := &images{dir: work, kernel: k}
	initBin := filepath.Join(work, "sandbox-init")
	logf("building sandbox-init and its initramfs")
	if err := mklive.BuildInit(repo, initBin); err != nil {
		return nil, err
	}
	d, err := k.Deps()
	if err != nil {
		return nil, err
	}
	req, opt := mklive.DefaultModules(d)
	rep, err := mklive.BuildInitramfs(mklive.InitramfsSpec{Init: initBin, Kernel: k, Required: req, Optional: opt,
		Out: filepath.Join(work, "ours.cpio.gz")})
	if err != nil {
		return nil, err
	}
	img.ours = initramfs{path: rep.Path, gz: rep.Compressed, unpacked: rep.Unpacked}

	logf("building the how-to's recipe initramfs (busybox sh, Debian's dmsetup)")
	if img.recipe, err = buildRecipe(repo, work, k); err != nil {
		return nil, err
	}

	logf("building the test root image and the data CD")
	initTool, err := os.ReadFile(initBin)
	if err != nil {
		return nil, err
	}
	tree := filepath.Join(work, "tree")
	if err := mklive.BusyboxTree(tree, "", map[string]string{"sbin/init": guestInit, "bin/sandbox-init": string(initTool)}); err != nil {
		return nil, err
	}
	// Room for -io's file on / (the file system must hold it, not only the
	// COW store), plus the tree itself.
	rootImg := filepath.Join(work, "initrd-ext2")
	if _, err := mklive.BuildRootImage(mklive.RootImageSpec{Tree: tree, Out: rootImg, Size: uint64(*flagMiB+64) << 20}); err != nil {
		return nil, err
	}
	stage := filepath.Join(work, "cd")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(rootImg, filepath.Join(stage, "initrd-ext2")); err != nil {
		return nil, err
	}
	img.iso = filepath.Join(work, "cd.iso")
	if err := sh("xorriso", "-as", "mkisofs", "-quiet", "-o", img.iso, "-V", "SANDBOXBENCH", "-r", stage); err != nil {
		return nil, err
	}
	return img, nil
}

// guestInit is the test root's /sbin/init, the same for every variant. Its
// first act stamps the kernel log: that is "the real init runs". Then it
// reports "BENCH key=value" lines, and in -io mode (bench.io on the command
// line) writes into the sandbox and into a raw brd disk, and powers off.
// Timing uses kernel stamps on /dev/kmsg lines, not busybox dd's rounding.
const guestInit = `#!/bin/sh
echo "realinit: first line" >/dev/kmsg
export PATH=/bin:/sbin
echo "BENCH mem=$(awk '/^(MemTotal|MemFree|MemAvailable|Shmem):/ {printf "%s%s ", $1, $2}' /proc/meminfo)"
echo "BENCH initramfs_init=$(test -e /init && echo present || echo gone)"
test -r /run/sandbox/state.json && echo "BENCH state=$(tr -d '\n' </run/sandbox/state.json)"
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
echo "BENCH done"
poweroff -f
`

// recipeInit is the how-to's Live CD /init as a busybox script: mount the
// API file systems, insmod each module, mount the CD, losetup the image
// read-only, dmsetup create the snapshot, mount it, move the CD and the API
// mounts under it, switch_root. %s is the insmod lines.
const recipeInit = `#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
%s
i=0
while [ ! -b /dev/sr0 ] && [ $i -lt 1000 ]; do usleep 10000; i=$((i+1)); done
mount -t iso9660 -o ro /dev/sr0 /mnt2
losetup -r /dev/loop0 /mnt2/initrd-ext2
SZ=$(blockdev --getsz /dev/loop0)
dmsetup create sandbox --table "0 $SZ snapshot /dev/loop0 /dev/ram0 N 8"
mount -t ext2 -o rw /dev/dm-0 /mnt
mkdir -p /mnt/mnt2
mount --move /mnt2 /mnt/mnt2
mount --move /dev /mnt/dev
mount --move /proc /mnt/proc
mount --move /sys /mnt/sys
exec switch_root /mnt /sbin/init
echo "recipe: switch_root failed"
`

// buildRecipe lays out the recipe's initramfs (busybox-static with applet
// links, Debian's dmsetup with its loader and libraries, the modules as
// modules.dep names them, /init) and packs it as the how-to does:
// find | cpio -o -H newc | gzip -9.
func buildRecipe(repo, work string, k mklive.Kernel) (initramfs, error) {
	var r initramfs
	d, err := k.Deps()
	if err != nil {
		return r, err
	}
	stage := filepath.Join(work, "recipe")
	var insmods []string
	for i, m := range recipeModules {
		p, ok := d.Path[m]
		if !ok {
			return r, fmt.Errorf("kernel %s has no module %s", k.Version, m)
		}
		for _, need := range d.Need[m] {
			if !contains(recipeModules[:i], need) {
				return r, fmt.Errorf("recipe order: %s needs %s first", m, need)
			}
		}
		dst := filepath.Join("lib/modules", k.Version, p)
		if err := copyFile(filepath.Join(k.ModulesDir(), p), filepath.Join(stage, dst)); err != nil {
			return r, err
		}
		line := "insmod /" + dst
		if m == "brd" {
			line += fmt.Sprintf(" rd_size=%d", rdSizeKiB)
		}
		insmods = append(insmods, line)
	}
	if err := mklive.BusyboxTree(stage, "", map[string]string{"init": fmt.Sprintf(recipeInit, strings.Join(insmods, "\n"))}); err != nil {
		return r, err
	}
	if err := os.Chmod(filepath.Join(stage, "init"), 0o755); err != nil {
		return r, err
	}
	if err := os.MkdirAll(filepath.Join(stage, "mnt"), 0o755); err != nil {
		return r, err
	}
	if err := installDmsetup(filepath.Join(cacheDir(repo), "bench"), filepath.Join(work, "debs"), stage); err != nil {
		return r, err
	}
	// The kernel's built-in initramfs already has /dev/console; a tree made
	// by mkinitrd has one too, so add it where we may (as root).
	_ = exec.Command("mknod", filepath.Join(stage, "dev/console"), "c", "5", "1").Run()
	r.path = filepath.Join(work, "recipe.cpio.gz")
	if err := sh("bash", "-o", "pipefail", "-c", `cd "$1" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -9 >"$2"`, "pack", stage, r.path); err != nil {
		return r, err
	}
	st, err := os.Stat(r.path)
	if err != nil {
		return r, err
	}
	r.gz = st.Size()
	err = filepath.WalkDir(stage, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			info, err := e.Info()
			if err == nil {
				r.unpacked += info.Size()
			}
		}
		return err
	})
	return r, err
}

// installDmsetup puts Debian's dynamically linked dmsetup, its libraries
// and the loader into stage. The .debs come from apt-get download and are
// cached in cache; the library packages are found by asking ldd what the
// unpacked binary still takes from the host and dpkg -S who owns that.
func installDmsetup(cache, unpack, stage string) error {
	pkgs := []string{"dmsetup", "libdevmapper1.02.1"}
	libDirs := []string{"lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"}
	var libs map[string]string // soname -> path in unpack
	for round := 0; ; round++ {
		if err := os.RemoveAll(unpack); err != nil {
			return err
		}
		for _, p := range pkgs {
			deb, err := download(cache, p)
			if err != nil {
				return err
			}
			if err := sh("dpkg", "-x", deb, unpack); err != nil {
				return err
			}
		}
		var lp []string
		for _, l := range libDirs {
			lp = append(lp, filepath.Join(unpack, l))
		}
		cmd := exec.Command("ldd", filepath.Join(unpack, "sbin/dmsetup"))
		cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+strings.Join(lp, ":"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("ldd dmsetup: %v\n%s", err, out)
		}
		libs = map[string]string{}
		var missing []string
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			var name, path string
			switch {
			case len(f) >= 3 && f[1] == "=>" && f[2] == "not":
				return fmt.Errorf("ldd dmsetup: %s", line)
			case len(f) >= 3 && f[1] == "=>":
				name, path = f[0], f[2]
			case len(f) >= 1 && strings.HasPrefix(f[0], "/"): // the loader
				name, path = f[0], f[0]
			default:
				continue
			}
			if !strings.HasPrefix(path, unpack+"/") {
				local := filepath.Join(unpack, path)
				if _, err := os.Lstat(local); err != nil || !strings.HasPrefix(name, "/") {
					missing = append(missing, path)
					continue
				}
				path = local // the loader, already unpacked from libc6
			}
			libs[name] = path
		}
		if len(missing) == 0 {
			break
		}
		if round == 3 {
			return fmt.Errorf("dmsetup still takes %v from the host after unpacking %v", missing, pkgs)
		}
		for _, m := range missing {
			p, err := owner(m)
			if err != nil {
				return err
			}
			if !contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	logf("dmsetup from %s", strings.Join(pkgs, " "))
	if err := copyFile(filepath.Join(unpack, "sbin/dmsetup"), filepath.Join(stage, "sbin/dmsetup")); err != nil {
		return err
	}
	for name, p := range libs {
		dst := filepath.Join(stage, "lib/x86_64-linux-gnu", filepath.Base(name))
		if strings.HasPrefix(name, "/") { // the loader, at its PT_INTERP path
			dst = filepath.Join(stage, name)
		}
		src, err := resolve(unpack, p)
		if err != nil {
			return err
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
	}
	return nil
}

// download returns the cached .deb of pkg, fetching it with apt-get
// download when it is not there yet.
func download(cache, pkg string) (string, error) {
	name := strings.SplitN(pkg, ":", 2)[0]
	find := func() string {
		m, _ := filepath.Glob(filepath.Join(cache, name+"_*.deb"))
		if len(m) > 0 {
			return m[len(m)-1]
		}
		return ""
	}
	if deb := find(); deb != "" {
		return deb, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	logf("apt-get download %s", pkg)
	cmd := exec.Command("apt-get", "download", "-qq", pkg)
	cmd.Dir = cache
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s: %v\n%s", pkg, err, out)
	}
	if deb := find(); deb != "" {
		return deb, nil
	}
	return "", fmt.Errorf("apt-get download %s left no %s_*.deb in %s", pkg, name, cache)
}

// owner names the Debian package that installed a host file, trying the
// path as given and with its links resolved (merged /usr moves files).
func owner(path string) (string, error) {
	cands := []string{path}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		cands = append(cands, r, strings.TrimPrefix(r, "/usr"))
	}
	for _, c := range cands {
		out, err := exec.Command("dpkg", "-S", c).Output()
		if err == nil {
			pkg, _, _ := strings.Cut(strings.TrimSpace(string(out)), ": ")
			return pkg, nil
		}
	}
	return "", fmt.Errorf("dpkg -S %s: no package owns it", path)
}

// resolve follows symlinks inside an unpacked tree: absolute link targets
// (libc6's /lib64/ld-linux-x86-64.so.2) mean the tree, not the host.
func resolve(root, p string) (string, error) {
	for i := 0; i < 16; i++ {
		st, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(t) {
			p = filepath.Join(root, t)
		} else {
			p = filepath.Join(filepath.Dir(p), t)
		}
	}
	return "", fmt.Errorf("%s: too many links", p)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, st.Mode().Perm())
}

func sh(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
