package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// -work (issue #15, part 4): the sandbox at work. One boot of our init
// over scripts/setup.sh's Debian root (so that /usr/share is a real one)
// runs three workloads against three targets, in the same boot and so on
// the same kernel and machine state:
//
//   - targets: the sandbox itself (/ on the snapshot, ext4), ext4 on a bare
//     RAM disk (brd /dev/ram1, mkfs.ext4 in the guest), and overlayfs with
//     its upper directory on tmpfs over the same image read-only (the union
//     live-boot and archiso use);
//   - workloads: a sequential write (dd of -mib MiB, conv=fsync), many
//     small files (tar x of -files files), and a tree copy (cp -a of -tree),
//     each followed by sync, timed by kernel stamps on /dev/kmsg lines.
//
// It boots once per chunk size and store (-chunks, -stores), -n times each,
// in turn; the targets' order rotates from boot to boot.
var (
	flagWork   = flag.Bool("work", false, "the sandbox at work (issue #15): dd, small files and a tree copy into the sandbox, ext4 on a bare brd and overlayfs on tmpfs, in the same boot of the Debian root, per -chunks and -stores")
	flagTree   = flag.String("tree", "/usr/share", "with -work: the tree cp -a copies, a path in the Debian root")
	flagFiles  = flag.Int("files", 5000, "with -work: how many small files tar extracts")
	flagWorkFS = flag.String("workfs", "ext4", "with -work: the root image's file system, ext4 (mklive's container image) or ext2 (mklive's plain image)")
)

const (
	workMemMiB = 1536  // the source tree's page cache, three copies of each workload, the tmpfs upper
	workCOW    = "768" // MiB: sandbox.cowsize, and so brd's rd_size for /dev/ram1 too
	workLabel  = "BENCHWORK"
)

var (
	workTargets   = []string{"sandbox", "ext4", "ovl"}
	workLoads     = []string{"seq", "small", "tree"}
	workTargetDoc = map[string]string{"sandbox": "sandbox (dm-snapshot)", "ext4": "ext4 on bare brd", "ovl": "overlayfs, upper on tmpfs"}
	workLoadDoc   = map[string]string{"seq": "sequential write", "small": "small files", "tree": "tree copy"}
)

// workConfig is one snapshot configuration and its samples: "TARGET/LOAD/s"
// (seconds), ".../ram" (KiB of MemFree per MiB written), ".../cow" (COW
// sectors per MiB), "LOAD/vs-ext4" and "LOAD/vs-ovl" (the sandbox's speed
// over the other target's, in the same boot).
type workConfig struct {
	name  string
	chunk int
	store string
	s     map[string][]float64
}

// workLoad is what one workload writes, known on the host.
type workLoad struct {
	bytes float64 // file data written
	files int
	dirs  int
}

func (w workLoad) mib() float64 { return w.bytes / (1 << 20) }

// benchWork builds the Debian root's image and CD, then boots.
func benchWork(repo string, img *images) ([]table, []string, error) {
	setChunks, setStores, setTimeout := false, false, false
	flag.Visit(func(f *flag.Flag) {
		setChunks = setChunks || f.Name == "chunks"
		setStores = setStores || f.Name == "stores"
		setTimeout = setTimeout || f.Name == "timeout"
	})
	if !setChunks {
		*flagChunks = "8,32"
	}
	if !setStores {
		*flagStores = "PO,N"
	}
	if !setTimeout {
		*flagTimeout = 15 * time.Minute // one boot does the whole section
	}
	var cs []*workConfig
	for _, f := range strings.Split(*flagChunks, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("-chunks %q: want sector counts such as 8,32", *flagChunks)
		}
		for _, st := range strings.Split(*flagStores, ",") {
			st = strings.ToUpper(strings.TrimSpace(st))
			if st != "PO" && st != "N" {
				return nil, nil, fmt.Errorf("-stores %q: want PO, N or PO,N", *flagStores)
			}
			cs = append(cs, &workConfig{name: fmt.Sprintf("%s %d", st, n), chunk: n, store: st, s: map[string][]float64{}})
		}
	}
	cd, loads, err := buildWorkCD(repo, img)
	if err != nil {
		return nil, nil, err
	}
	cmdline := slices.DeleteFunc(slices.Clone(baseCmdline), func(w string) bool { return strings.HasPrefix(w, "sandbox.cowsize=") })
	cmdline = append(cmdline, "sandbox.cowsize="+workCOW+"M", "brd.rd_nr=2", "sandbox.init=/mnt2/work-init",
		"bench.tree="+*flagTree, "bench.fs="+*flagWorkFS, fmt.Sprintf("bench.mib=%d", *flagMiB))
	boots := 0
	for i := 1; i <= *flagN; i++ {
		for _, c := range cs {
			order := slices.Clone(workTargets)
			k := boots % len(order)
			order = append(order[k:], order[:k]...)
			boots++
			name := fmt.Sprintf("work-%s-%d-%d", c.store, c.chunk, i)
			start := time.Now()
			con, err := img.bootWith(bootSpec{name: name, initrd: img.ours.path, cd: cd, memMiB: workMemMiB,
				cmdline: append(slices.Clone(cmdline), fmt.Sprintf("sandbox.chunk=%d", c.chunk), "sandbox.store="+c.store, "bench.order="+strings.Join(order, ","))})
			if err != nil {
				return nil, nil, err
			}
			if err := c.record(name, con, loads); err != nil {
				return nil, nil, err
			}
			logf("work %d/%d %-6s tree copy %.2f s sandbox, %.2f s ext4 on brd, %.2f s overlay (order %s; boot took %.0f s)", i, *flagN, c.name,
				last(c.s["sandbox/tree/s"]), last(c.s["ext4/tree/s"]), last(c.s["ovl/tree/s"]), strings.Join(order, ","), time.Since(start).Seconds())
		}
	}
	ours := cs[0]
	for _, c := range cs {
		if c.store == "PO" && c.chunk == 8 { // sandbox-init's default for 4 KiB blocks (chunk=auto)
			ours = c
		}
	}
	var lines []string
	for _, l := range []struct{ load, name string }{{"tree", "tree-copy"}, {"small", "small-files"}, {"seq", "seq-write"}} {
		for _, o := range []struct{ key, name string }{{"ext4", "ext4-brd"}, {"ovl", "overlay-tmpfs"}} {
			// Speed over speed, boot by boot: the median of the same-boot ratios.
			lines = append(lines, ratioLine(l.name, o.name, median(ours.s[l.load+"/vs-"+o.key]), 1))
		}
	}
	return workTables(cs, ours, loads), lines, nil
}

// buildWorkCD makes the CD: the Debian root (with room for the workloads)
// as an ext4 image at /initrd-ext2, and beside it the real init for the
// bench (work-init), busybox-static (insmod, poweroff: the Debian root has
// no kmod), the kernel's overlay module, the small files' tar and
// sandbox-init (its status command reads the COW's use).
func buildWorkCD(repo string, img *images) (string, map[string]workLoad, error) {
	root := filepath.Join(testvm.CacheDir(repo), "debian-root")
	if _, err := os.Stat(filepath.Join(root, "etc")); err != nil {
		return "", nil, fmt.Errorf("-work: %w (scripts/setup.sh makes the Debian root)", err)
	}
	tree := filepath.Join(root, *flagTree)
	if !filepath.IsAbs(*flagTree) || strings.ContainsAny(*flagTree, " \t") {
		return "", nil, fmt.Errorf("-tree %q: want an absolute path in the Debian root, without spaces", *flagTree)
	}
	loads := map[string]workLoad{"seq": {bytes: float64(*flagMiB) * (1 << 20), files: 1}}
	var tl workLoad
	err := filepath.WalkDir(tree, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			tl.dirs++
		case e.Type().IsRegular():
			info, err := e.Info()
			if err != nil {
				return err
			}
			tl.bytes += float64(info.Size())
			tl.files++
		default:
			tl.files++ // symlinks
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("-tree: %w", err)
	}
	loads["tree"] = tl
	dir := filepath.Join(img.Dir, "work")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	smallTar := filepath.Join(dir, "small.tar")
	if loads["small"], err = writeSmallTar(smallTar, *flagFiles); err != nil {
		return "", nil, err
	}
	// The root image: ext4, as mklive makes a container's (the default
	// medium), or ext2, as its plain image (-workfs), sized for the tree and every workload's sandbox copy; its
	// tables written now, so that ext4lazyinit writes nothing into the COW
	// store during the measurements.
	b, inodes, err := mklive.TreeSize(root)
	if err != nil {
		return "", nil, err
	}
	size := mklive.ImageSize(b, inodes) + uint64(tl.bytes) + uint64(tl.files+tl.dirs)*4096 + uint64(*flagMiB)<<20 + uint64(*flagFiles)*8192 + 64<<20
	size = (size + 1<<20 - 1) &^ (1<<20 - 1)
	image := filepath.Join(dir, "root."+*flagWorkFS)
	logf("-work: building the Debian root's image (%s, %s of files) and its CD", config.HumanBytes(size), config.HumanBytes(b))
	if *flagWorkFS != "ext4" && *flagWorkFS != "ext2" {
		return "", nil, fmt.Errorf("-workfs %q: want ext4 or ext2", *flagWorkFS)
	}
	if err := mklive.Run("mke2fs", "-q", "-F", "-t", *flagWorkFS, "-b", "4096", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0",
		"-L", workLabel, "-d", root, image, strconv.FormatUint(size>>10, 10)+"k"); err != nil {
		return "", nil, err
	}
	d, err := img.kernel.Deps()
	if err != nil {
		return "", nil, err
	}
	ovl := filepath.Join(dir, "overlay.ko")
	if p, ok := d.Path["overlay"]; ok {
		src := filepath.Join(img.kernel.ModulesDir(), p)
		switch {
		case strings.HasSuffix(p, ".ko"):
			err = testvm.CopyFile(src, ovl)
		case strings.HasSuffix(p, ".ko.xz"):
			err = mklive.Run("bash", "-c", `xz -dc "$1" >"$2"`, "xz", src, ovl)
		case strings.HasSuffix(p, ".ko.zst"):
			err = mklive.Run("bash", "-c", `zstd -qdc "$1" >"$2"`, "zstd", src, ovl)
		default:
			err = fmt.Errorf("overlay module %s: unknown compression", p)
		}
	} else if d.Builtin["overlay"] {
		err = os.WriteFile(ovl, nil, 0o644) // built in: the guest skips insmod
	} else {
		err = fmt.Errorf("kernel %s has no overlay module", img.kernel.Version)
	}
	if err != nil {
		return "", nil, err
	}
	files := map[string]string{"initrd-ext2": image, "small.tar": smallTar, "overlay.ko": ovl,
		"work-init": filepath.Join(dir, "work-init"), "busybox": filepath.Join(dir, "busybox"), "sandbox-init": filepath.Join(dir, "sandbox-init")}
	if err := os.WriteFile(files["work-init"], []byte(workInit), 0o755); err != nil {
		return "", nil, err
	}
	if err := testvm.CopyFile(mklive.BusyboxBinary, files["busybox"]); err != nil {
		return "", nil, err
	}
	if err := testvm.CopyFile(img.Init, files["sandbox-init"]); err != nil {
		return "", nil, err
	}
	cd := filepath.Join(dir, "work.iso")
	return cd, loads, testvm.DataISO(cd, workLabel, files)
}

// writeSmallTar writes n small files, 64 B to 4 KiB (what /etc and a
// source tree hold), 50 to a directory, under small/.
func writeSmallTar(path string, n int) (workLoad, error) {
	w := workLoad{files: n, dirs: 1}
	f, err := os.Create(path)
	if err != nil {
		return w, err
	}
	tw := tar.NewWriter(f)
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := []byte("a line of a small file in a live system's day, config or source\n")
	x := uint32(1)
	for i := 0; i < n && err == nil; i++ {
		if i%50 == 0 {
			w.dirs++
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("small/d%03d/", i/50), Mode: 0o755, ModTime: mod})
			if err != nil {
				break
			}
		}
		x = x*1664525 + 1013904223 // a fixed sequence: the same files every run
		size := 64 + int(x>>16)%(4096-64)
		body := make([]byte, size)
		for j := range body {
			body[j] = line[j%len(line)]
		}
		w.bytes += float64(size)
		if err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("small/d%03d/f%05d", i/50, i), Mode: 0o644, Size: int64(size), ModTime: mod}); err == nil {
			_, err = tw.Write(body)
		}
	}
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return w, err
}

// record takes one boot's samples.
func (c *workConfig) record(name string, con console, loads map[string]workLoad) error {
	if !con.Contains("\nBENCH done") {
		return fmt.Errorf("%s: the bench's init did not finish (no \"BENCH done\")%s", name, con.tail())
	}
	st, _ := con.value("state")
	if !strings.Contains(st, fmt.Sprintf(` %s %d"`, c.store, c.chunk)) {
		return fmt.Errorf("%s: the snapshot table in state.json does not have store %s, chunk %d: %s", name, c.store, c.chunk, st)
	}
	if e, ok := con.value("setup_error"); ok {
		return fmt.Errorf("%s: %s%s", name, e, con.tail())
	}
	for _, t := range workTargets {
		for _, w := range workLoads {
			k := t + "_" + w
			if e, ok := con.value(k + "_error"); ok {
				return fmt.Errorf("%s: %s%s", name, e, con.tail())
			}
			t0, err := con.mustStamp(name, "bench: start "+t+" "+w)
			if err != nil {
				return err
			}
			t1, err := con.mustStamp(name, "bench: end "+t+" "+w)
			if err != nil {
				return err
			}
			key := t + "/" + w
			c.s[key+"/s"] = append(c.s[key+"/s"], t1-t0)
			mib := loads[w].mib()
			if f := fields(con, k+"_free_kb"); len(f) == 2 {
				c.s[key+"/ram"] = append(c.s[key+"/ram"], (f[0]-f[1])/mib)
			}
			if v, ok := con.value(k + "_cow"); ok && t == "sandbox" {
				before, after, _ := strings.Cut(v, "|")
				u0, ok0 := cowUsed(before)
				u1, ok1 := cowUsed(after)
				if ok0 && ok1 {
					c.s[key+"/cow"] = append(c.s[key+"/cow"], (u1-u0)/mib)
				}
			}
		}
	}
	for _, w := range workLoads {
		ours := last(c.s["sandbox/"+w+"/s"])
		for _, o := range []string{"ext4", "ovl"} {
			c.s[w+"/vs-"+o] = append(c.s[w+"/vs-"+o], last(c.s[o+"/"+w+"/s"])/ours)
		}
	}
	return nil
}

func workTables(cs []*workConfig, ours *workConfig, loads map[string]workLoad) []table {
	tl, sl := loads["tree"], loads["small"]
	what := fmt.Sprintf("dd %d MiB; %d small files (%.1f MiB); cp -a %s (%d files, %d directories, %.1f MiB)",
		*flagMiB, sl.files, sl.mib(), *flagTree, tl.files, tl.dirs, tl.mib())
	t := table{
		title: fmt.Sprintf("The sandbox at work: %s, each then sync, in the same boot (%d boots per config, alternating; s, median (min–max))", what, *flagN),
		head: []string{"target, snapshot", "sequential write (s)", "small files (s)", "tree copy (s)", "tree copy MiB/s",
			"speed vs ext4 on brd: seq / small / tree", "speed vs overlayfs on tmpfs: seq / small / tree"},
	}
	speed := func(c *workConfig, o string) string {
		var v []string
		for _, w := range workLoads {
			v = append(v, cell(c.s[w+"/vs-"+o], "%.2f"))
		}
		return strings.Join(v, " / ")
	}
	mibps := func(xs []float64) []float64 {
		var out []float64
		for _, x := range xs {
			out = append(out, tl.mib()/x)
		}
		return out
	}
	for _, c := range cs {
		label := "sandbox, " + c.name
		if c == ours {
			label += " (default)"
		}
		t.rows = append(t.rows, []string{label, cell(c.s["sandbox/seq/s"], "%.2f"), cell(c.s["sandbox/small/s"], "%.2f"), cell(c.s["sandbox/tree/s"], "%.2f"),
			cell(mibps(c.s["sandbox/tree/s"]), "%.1f"), speed(c, "ext4"), speed(c, "ovl")})
		for _, o := range []string{"ext4", "ovl"} {
			t.rows = append(t.rows, []string{"  " + workTargetDoc[o] + " (same boots)", cell(c.s[o+"/seq/s"], "%.2f"), cell(c.s[o+"/small/s"], "%.2f"),
				cell(c.s[o+"/tree/s"], "%.2f"), cell(mibps(c.s[o+"/tree/s"]), "%.1f"), "", ""})
		}
	}
	t.notes = []string{
		"One boot of sandbox-init over scripts/setup.sh's Debian root (an " + *flagWorkFS + " image of it on the CD: ext4 as in mklive's default container, ext2 as its plain image, -workfs; `noatime` so reading the source writes nothing) runs each workload into three targets: the sandbox's / (dm-snapshot over loop on the CD, COW on brd /dev/ram0), ext4 made in the guest by the root's own mkfs.ext4 (e2fsprogs; busybox has mke2fs for ext2 only) on a bare brd disk /dev/ram1, and overlayfs with its upper and work directories on tmpfs over the same image mounted read-only from a second loop device (the union live-boot and archiso use). The targets' order rotates from boot to boot.",
		"Each measure: sync and drop the page cache, read the small files' tar (on the CD) back into it, then time from a /dev/kmsg line before the command to one after the command and `sync` (kernel stamps). The tree's source is the same for every target: a copy of the root's " + *flagTree + " on a tmpfs of its own, made before the measures. Not the root's own tree: coreutils' cp uses copy_file_range, which inside one file system copies in the kernel, and so spared the sandbox alone (source and copy both on /) the copy through user space: 1.06–1.53× ext4 on brd's speed in a first run, an artefact.",
		"speed vs X = X's time over the sandbox's, boot by boot (the median of the same-boot ratios): 1.00 is as fast, 0.80 takes 25% longer.",
	}
	c := table{
		title: fmt.Sprintf("What the writes cost (%d boots per config; median (min–max))", *flagN),
		head:  []string{"target, snapshot", "RAM KiB per MiB: seq", "small", "tree", "COW sectors per MiB: seq", "small", "tree"},
	}
	for _, cf := range cs {
		c.rows = append(c.rows, []string{"sandbox, " + cf.name, cell(cf.s["sandbox/seq/ram"], "%.0f"), cell(cf.s["sandbox/small/ram"], "%.0f"), cell(cf.s["sandbox/tree/ram"], "%.0f"),
			cell(cf.s["sandbox/seq/cow"], "%.0f"), cell(cf.s["sandbox/small/cow"], "%.0f"), cell(cf.s["sandbox/tree/cow"], "%.0f")})
	}
	for _, o := range []string{"ext4", "ovl"} {
		var pool = map[string][]float64{}
		for _, cf := range cs {
			for _, w := range workLoads {
				pool[w] = append(pool[w], cf.s[o+"/"+w+"/ram"]...)
			}
		}
		c.rows = append(c.rows, []string{workTargetDoc[o] + " (all boots)", cell(pool["seq"], "%.0f"), cell(pool["small"], "%.0f"), cell(pool["tree"], "%.0f"), "—", "—", "—"})
	}
	c.notes = []string{
		"RAM per MiB: the drop of MemFree from before the measure to after it, the page cache dropped both times (what stays: brd's pages, the snapshot's exception tables, tmpfs's pages, the file systems' metadata caches), per MiB of file data written (" +
			fmt.Sprintf("%d MiB; %.1f MiB; %.1f MiB", *flagMiB, sl.mib(), tl.mib()) + "). 1024 is one page per page of data; small files cost a block each at least, and directories and inodes come on top.",
		"Not to be trusted yet: the RAM of dd and the small files. MemFree moves by some 30–45 MiB more than the data between measures (dd reads high, the small files after it low, even negative), in every target; the tree's column is steady from boot to boot. Not explained.",
		"COW sectors per MiB: growth of USED in the snapshot's status (sandbox-init status) over the measure, per MiB of file data; 2048 is one sector per sector of data. Chunk rounding, the journal and the file system's metadata come on top.",
	}
	return []table{t, c}
}

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
