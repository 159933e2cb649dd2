package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ioConfig is one -io boot configuration.
type ioConfig struct {
	name   string
	initrd initramfs
	chunk  int    // 0: the recipe's table, fixed at 8
	store  string // sandbox.store: PO or N
	s      map[string][]float64
	ram1   map[string]bool // how the guest got /dev/ram1
}

// ioOpts are bench io's options.
type ioOpts struct {
	common
	snapshots
	mib int
}

func newIO(fs *flag.FlagSet) experiment {
	o := &ioOpts{}
	o.register(fs, 5, 90*time.Second)
	o.snapshots.flags(fs, "1,8,16,32", "PO")
	fs.IntVar(&o.mib, "mib", 64, "MiB written by each dd")
	return o
}

func (o *ioOpts) options() *common { return &o.common }
func (o *ioOpts) check() error {
	_, err := o.configs()
	return errors.Join(err, checkMiB(o.mib))
}

// plan: room for the file on / (the file system must hold it, not only
// the COW store), plus the tree itself.
func (o *ioOpts) plan() plan { return plan{rootMiB: o.mib + 64, recipe: true, memMiB: 512} }

// run boots our init with each chunk size, and the recipe, n times each
// in turn; each boot writes -mib MiB into a file on the sandbox's root and
// then the same to a raw brd disk (/dev/ram1) in the same boot.
func (o *ioOpts) run(_ string, img *images) ([]table, []string, error) {
	snaps, err := o.configs()
	if err != nil {
		return nil, nil, err
	}
	var cs []*ioConfig
	for _, sc := range snaps {
		cs = append(cs, &ioConfig{name: fmt.Sprintf("ours %s chunk=%d", sc.store, sc.chunk), initrd: img.ours, chunk: sc.chunk, store: sc.store})
	}
	cs = append(cs, &ioConfig{name: "recipe (chunk 8)", initrd: img.recipe})
	for i := 1; i <= o.n; i++ {
		for _, c := range cs {
			if c.s == nil {
				c.s, c.ram1 = map[string][]float64{}, map[string]bool{}
			}
			// brd.rd_nr=2 asks for the raw disk the modprobe way; the guest
			// reports whether it was honoured (BENCH ram1=native).
			extra := []string{"brd.rd_nr=3", "bench.io", fmt.Sprintf("bench.mib=%d", o.mib)}
			if c.chunk > 0 {
				extra = append(extra, fmt.Sprintf("sandbox.chunk=%d", c.chunk), "sandbox.store="+c.store)
			}
			name := fmt.Sprintf("io-%s-%d", strings.NewReplacer(" ", "", "(", "", ")", "").Replace(c.name), i)
			con, err := img.boot(name, c.initrd.path, extra...)
			if err != nil {
				return nil, nil, err
			}
			if err := c.record(name, con, float64(o.mib)); err != nil {
				return nil, nil, err
			}
			logf("io %d/%d %-20s sandbox %.1f MiB/s, raw brd %.1f MiB/s, ext2 on brd %.1f MiB/s", i, o.n, c.name, last(c.s["cow"]), last(c.s["raw"]), last(c.s["fs"]))
		}
	}
	return ioTables(cs, o.n, o.mib), nil, nil
}

// record takes one boot's samples; n is the MiB each dd wrote.
func (c *ioConfig) record(name string, con console, n float64) error {
	if !con.Contains("\nBENCH done") {
		return fmt.Errorf("%s: the real init did not finish (no \"BENCH done\")%s", name, con.tail())
	}
	if c.chunk > 0 {
		if err := checkTable(name, con, c.store, c.chunk); err != nil {
			return err
		}
	}
	for _, k := range []string{"cow", "raw", "fs"} {
		if e, ok := con.value(k + "_error"); ok {
			return fmt.Errorf("%s: %s%s", name, e, con.tail())
		}
		t0, err := con.mustStamp(name, "bench: dd start "+k)
		if err != nil {
			return err
		}
		t1, err := con.mustStamp(name, "bench: dd end "+k)
		if err != nil {
			return err
		}
		c.s[k] = append(c.s[k], n/(t1-t0))
		// MemFree before and after, page cache dropped both times.
		if f := fields(con, k+"_free_kb"); len(f) == 2 {
			c.s[k+"ram"] = append(c.s[k+"ram"], (f[0]-f[1])/n)
		}
	}
	c.s["ratio"] = append(c.s["ratio"], last(c.s["cow"])/last(c.s["raw"]))
	c.s["fsratio"] = append(c.s["fsratio"], last(c.s["cow"])/last(c.s["fs"]))
	// "status: 0 SZ snapshot USED/TOTAL META|status: ..." before and after.
	if v, ok := con.value("cow_cow"); ok {
		before, after, _ := strings.Cut(v, "|")
		u0, ok0 := cowUsed(before)
		u1, ok1 := cowUsed(after)
		if ok0 && ok1 {
			c.s["sectors"] = append(c.s["sectors"], (u1-u0)/n)
		}
	}
	if v, ok := con.value("small_cow"); ok {
		before, after, _ := strings.Cut(v, "|")
		u0, ok0 := cowUsed(before)
		u1, ok1 := cowUsed(after)
		if ok0 && ok1 {
			c.s["small"] = append(c.s["small"], (u1-u0)/200)
		}
	}
	if r, ok := con.value("ram1"); ok {
		c.ram1[r] = true
	}
	return nil
}

// fields parses a "BENCH key=n n ..." line as numbers.
func fields(con console, key string) []float64 {
	v, _ := con.value(key)
	var out []float64
	for _, f := range strings.Fields(v) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil
		}
		out = append(out, x)
	}
	return out
}

// cowUsed takes USED from a snapshot status line,
// "status: 0 SZ snapshot USED/TOTAL META".
func cowUsed(line string) (float64, bool) {
	f := strings.Fields(line)
	for i, w := range f {
		if w == "snapshot" && i+1 < len(f) {
			used, _, ok := strings.Cut(f[i+1], "/")
			x, err := strconv.ParseFloat(used, 64)
			return x, ok && err == nil
		}
	}
	return 0, false
}
