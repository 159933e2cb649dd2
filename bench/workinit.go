package main

// workInit is the real init of the -work boots (sandbox.init=/mnt2/work-init):
// a dash script of the Debian root with the tools on the CD at /mnt2.
const workInit = `#!/bin/sh
echo "realinit: first line" >/dev/kmsg
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
B=/mnt2
arg() { sed -n "s/.*bench\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
tree=$(arg tree); mib=$(arg mib); order=$(arg order | tr , ' ')
test -r /run/sandbox/state.json && echo "BENCH state=$(tr -d '\n' </run/sandbox/state.json)"
fail() { echo "BENCH setup_error=$*"; echo "BENCH done"; $B/busybox poweroff -f; }
# Reading the source must not write access times into the COW store.
mount -o remount,noatime / || fail "remount / noatime"
# ext4 on a bare RAM disk: brd's second disk, tables written now.
[ -b /dev/ram1 ] || mknod /dev/ram1 b 1 1
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 /dev/ram1 >/dev/null || fail "mkfs.ext4 /dev/ram1"
mkdir -p /mnt/ext4 /mnt/lower /mnt/rw /mnt/ovl /bench-out
mount -t ext4 /dev/ram1 /mnt/ext4 || fail "mount ext4 on /dev/ram1"
mkdir -p /mnt/ext4/bench-out
# overlayfs over the same image, read-only through a second loop device,
# its upper on tmpfs.
test -s $B/overlay.ko && { $B/busybox insmod $B/overlay.ko || fail "insmod overlay"; }
lo=$(losetup -r -f --show $B/initrd-ext2) || fail "losetup"
ro=ro; [ "$(arg fs)" = ext4 ] && ro=ro,noload
mount -t "$(arg fs)" -o $ro "$lo" /mnt/lower || fail "mount the lower"
mount -t tmpfs -o size=75% tmpfs /mnt/rw && mkdir -p /mnt/rw/upper /mnt/rw/work || fail "tmpfs"
mount -t overlay overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work /mnt/ovl || fail "mount overlay"
mkdir -p /mnt/ovl/bench-out
# The tree's copy reads from tmpfs, a file system of its own: coreutils'
# cp uses copy_file_range, which inside one file system copies in the
# kernel; from the sandbox's own / that would spare the sandbox alone the
# copy through user space.
mkdir -p /mnt/src && mount -t tmpfs tmpfs /mnt/src && cp -a "$tree" /mnt/src/tree || fail "the tree's copy on tmpfs"
free_kb() { sync; echo 3 >/proc/sys/vm/drop_caches; awk '/^MemFree:/ {print $2}' /proc/meminfo; }
cow() { $B/sandbox-init status 2>/dev/null | grep '^status:'; }
warm() { cat $B/small.tar >/dev/null; }
warm
dir() { case $1 in sandbox) echo /bench-out ;; ext4) echo /mnt/ext4/bench-out ;; ovl) echo /mnt/ovl/bench-out ;; esac; }
work() {
	case $2 in
	seq) dd if=/dev/zero of="$1/seq.dat" bs=1M count=$mib conv=fsync 2>/dev/null ;;
	small) tar -xf $B/small.tar -C "$1" ;;
	tree) cp -a /mnt/src/tree "$1/tree" ;;
	esac
}
for t in $order; do
	d=$(dir $t)
	for w in seq small tree; do
		m0=$(free_kb); warm; c0=$(cow)
		echo "bench: start $t $w" >/dev/kmsg
		work "$d" $w || echo "BENCH ${t}_${w}_error=$w into $d failed"
		sync
		echo "bench: end $t $w" >/dev/kmsg
		echo "BENCH ${t}_${w}_cow=$c0|$(cow)"
		echo "BENCH ${t}_${w}_free_kb=$m0 $(free_kb)"
	done
done
echo "BENCH mem=$(awk '/^(MemTotal|MemFree|MemAvailable|Shmem):/ {printf "%s%s ", $1, $2}' /proc/meminfo)"
echo "BENCH done"
$B/busybox poweroff -f
`
