package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// bench work (issue #15, part 4): the sandbox at work. One boot of our init
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

// workOpts are bench work's options.
type workOpts struct {
	common
	snapshots
	mib, files   int
	tree, workfs string
}

func newWork(fs *flag.FlagSet) experiment {
	o := &workOpts{}
	o.register(fs, 5, 15*time.Minute) // one boot does the whole section
	o.snapshots.flags(fs, "8,32", "PO,N")
	fs.IntVar(&o.mib, "mib", 64, "MiB the sequential write writes")
	fs.StringVar(&o.tree, "tree", "/usr/share", "the tree cp -a copies, a path in the Debian root")
	fs.IntVar(&o.files, "files", 5000, "how many small files tar extracts")
	fs.StringVar(&o.workfs, "workfs", "ext4", "the root image's file system, ext4 (mklive's container image) or ext2 (mklive's plain image)")
	return o
}

func (o *workOpts) options() *common { return &o.common }

func (o *workOpts) check() error {
	_, err := o.configs()
	if !filepath.IsAbs(o.tree) || strings.ContainsAny(o.tree, " \t") {
		err = errors.Join(err, fmt.Errorf("-tree %q: want an absolute path in the Debian root, without spaces", o.tree))
	}
	if o.workfs != "ext4" && o.workfs != "ext2" {
		err = errors.Join(err, fmt.Errorf("-workfs %q: want ext4 or ext2", o.workfs))
	}
	return errors.Join(err, checkMiB(o.mib))
}

func (o *workOpts) plan() plan { return plan{rootMiB: o.mib + 64, memMiB: workMemMiB} }

const (
	workMemMiB = 1536  // the source tree's page cache, three copies of each workload, the tmpfs upper
	workCOW    = "768" // MiB: sandbox.cowsize, and so brd's rd_size for /dev/ram1 too
	workLabel  = "BENCHWORK"
)

var (
	workTargets   = []string{"sandbox", "ext4", "ovl"}
	workLoads     = []string{"seq", "small", "tree"}
	workTargetDoc = map[string]string{"sandbox": "sandbox (dm-snapshot)", "ext4": "ext4 on bare brd", "ovl": "overlayfs, upper on tmpfs"}
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

// run builds the Debian root's image and CD, then boots.
func (o *workOpts) run(repo string, img *images) ([]table, []string, error) {
	snaps, err := o.configs()
	if err != nil {
		return nil, nil, err
	}
	var cs []*workConfig
	for _, sc := range snaps {
		cs = append(cs, &workConfig{name: fmt.Sprintf("%s %d", sc.store, sc.chunk), chunk: sc.chunk, store: sc.store, s: map[string][]float64{}})
	}
	cd, loads, err := o.buildCD(repo, img)
	if err != nil {
		return nil, nil, err
	}
	cmdline := slices.DeleteFunc(slices.Clone(baseCmdline), func(w string) bool { return strings.HasPrefix(w, "sandbox.cowsize=") })
	cmdline = append(cmdline, "sandbox.cowsize="+workCOW+"M", "brd.rd_nr=2", "sandbox.init=/mnt2/work-init",
		"bench.tree="+o.tree, "bench.fs="+o.workfs, fmt.Sprintf("bench.mib=%d", o.mib))
	boots := 0
	for i := 1; i <= o.n; i++ {
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
			logf("work %d/%d %-6s tree copy %.2f s sandbox, %.2f s ext4 on brd, %.2f s overlay (order %s; boot took %.0f s)", i, o.n, c.name,
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
	return o.tables(cs, ours, loads), lines, nil
}

// record takes one boot's samples.
func (c *workConfig) record(name string, con console, loads map[string]workLoad) error {
	if !con.Contains("\nBENCH done") {
		return fmt.Errorf("%s: the bench's init did not finish (no \"BENCH done\")%s", name, con.tail())
	}
	if err := checkTable(name, con, c.store, c.chunk); err != nil {
		return err
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
