package main

import (
	"path/filepath"
	"time"
)

// oursVariants are bench system's variants of sandbox-init: the ISO each
// boots (plain: false, the zstd container: true) and the words added to
// the ISO's own command line.
var oursVariants = []struct {
	name  string
	zstd  bool
	extra string
}{
	{"ours", true, ""},
	{"ours-plain", false, ""},
	{"ours-N", true, "sandbox.store=N"},
	// The image, the COW store and 512 MiB must fit in RAM: the default
	// store (half the RAM) leaves no room at -m 1024.
	{"ours-toram", true, "sandbox.toram=yes sandbox.cowsize=128M"},
}

// systemVariants builds the ISOs and the initramfs of the wanted variants
// (sys.kernel's): ours in each mode, the recipe, dracut.
func systemVariants(cache string, sys *images, tree string, want map[string]bool) ([]*sysVariant, error) {
	plain, zstd, err := systemISOs(sys, tree, want)
	if err != nil {
		return nil, err
	}
	logf("-system: our initramfs for %s", sys.kernel.Version)
	rep, err := sys.Initramfs(sys.kernel, filepath.Join(sys.Dir, "ours.cpio.zst"), nil)
	if err != nil {
		return nil, err
	}
	ours := initramfs{path: rep.Path, gz: rep.Compressed, unpacked: rep.Unpacked}
	var vs []*sysVariant
	for _, o := range oursVariants {
		if !want[o.name] {
			continue
		}
		is := plain
		if o.zstd {
			is = zstd
		}
		words, err := liveWords([]string{"console=ttyS0", "panic=-1", "sandbox.onfail=poweroff"}, is.label, is.container, o.extra, is.verity)
		if err != nil {
			return nil, err
		}
		vs = append(vs, &sysVariant{name: o.name, kind: "ours", iso: is, initrd: ours, cmdline: words})
	}
	if want["recipe"] {
		logf("-system: the how-to's recipe initramfs for %s", sys.kernel.Version)
		start := time.Now()
		r, err := buildRecipe(cache, sys)
		if err != nil {
			return nil, err
		}
		vs = append(vs, &sysVariant{name: "recipe", kind: "recipe", iso: plain, initrd: r,
			buildS: time.Since(start).Seconds(), cmdline: []string{"console=ttyS0", "panic=-1"}})
	}
	if want["dracut"] {
		logf("-system: dracut's initramfs (dmsquash-live, chrooted in %s/dracut/root)", cache)
		r, took, err := buildDracut(cache, sys.kernel, filepath.Join(sys.Dir, "dracut.img"), "dmsquash-live")
		if err != nil {
			return nil, err
		}
		logf("-system: dracut: %d bytes, %.1f s", r.gz, took.Seconds())
		vs = append(vs, &sysVariant{name: "dracut", kind: "dracut", iso: zstd, initrd: r, buildS: took.Seconds(),
			cmdline: append([]string{"console=ttyS0", "panic=-1"}, dracutCmdline(zstd.label)...)})
	}
	return vs, nil
}
