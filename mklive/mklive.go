// Package mklive builds what a sandbox-init Live CD is made of: the root
// image (mke2fs -d), by default a sparse ext4 image with room to write in a
// compressed squashfs container (mksquashfs; Fedora's LiveOS layout), the
// initramfs (our static init plus exactly the kernel modules it needs) and
// the bootable ISO (isolinux, xorriso). It is the how-to's "Making a Live
// CD" section as code.
package mklive

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/kmod"
)

// ConfiguredModules is what an initramfs carries for one configuration (a
// Live CD's kernel command line): its own modules, and the drivers for any
// machine's CD or disk. A different sandbox.cow or sandbox.origin typed at
// the boot prompt then meets a clear "module X is not available".
func ConfiguredModules(d *kmod.Deps, c config.Config) (required, optional []string) {
	required, optional = c.Modules()
	_, all := DefaultModules(d)
	for _, m := range all {
		if !slices.Contains(optional, m) && !slices.Contains(required, m) && isDriver(m) {
			optional = append(optional, m)
		}
	}
	return required, optional
}

// isDriver tells the CD and disk drivers among DefaultModules' optional ones
// from the COW store's (zram and its compressors), sandbox.verity's, and
// sandbox.iso's disk file systems.
func isDriver(m string) bool {
	if slices.Contains(config.ISODiskModules, m) {
		return false
	}
	switch m {
	case "zram", "lzo-rle", "lzo", "lz4", "lz4hc", "zstd", "842", "dm_verity", "sha256_ssse3":
		return false
	}
	return true
}

// DefaultModules is what an initramfs carries so that any sandbox.* choice
// made at boot works: the CD and the block-device origin, with brd (and zram
// when the kernel has it). Optional drivers the kernel lacks are skipped.
func DefaultModules(d *kmod.Deps) (required, optional []string) {
	cd := config.Default()
	disk := cd
	disk.Origin = "/dev/sda"
	zram := cd
	zram.COW = "zram"
	iso := cd
	iso.ISO = "/x.iso" // an ISO file on a disk: vfat, exfat and their code pages
	add := func(dst *[]string, names ...string) {
		for _, n := range names {
			if !slices.Contains(*dst, n) {
				*dst = append(*dst, n)
			}
		}
	}
	for _, c := range []config.Config{cd, disk, iso} {
		r, o := c.Modules()
		add(&required, r...)
		add(&optional, o...)
	}
	// zram with its default compressor (lzo-rle) and lzo, both small;
	// lz4 and zstd (zstd_compress alone is 430 KiB) only when asked for
	// with -modules, so the default initramfs stays small.
	for _, algo := range []string{"lzo-rle", "lzo"} {
		zram.ZAlgo = algo
		r, _ := zram.Modules()
		add(&optional, r...)
	}
	// dm-verity (sandbox.verity), optional: a kernel without it still
	// gets an initramfs, and a boot that asks for verity says it lacks it.
	ver := cd
	ver.Verity = strings.Repeat("0", 64)
	vr, vo := ver.Modules()
	cr, co := cd.Modules()
	for _, m := range append(vr, vo...) {
		if !slices.Contains(cr, m) && !slices.Contains(co, m) {
			add(&optional, m)
		}
	}
	return required, optional
}

// BuildInit compiles sandbox-init as a static binary. repo is the module
// root. tags are build tags: TLSTag for an init that does https://.
func BuildInit(repo, out string, tags ...string) error {
	if _, err := hostcmd.Need("go"); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags="+strings.Join(tags, ","), "-o", out, "./init")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./init: %w\n%s", err, b)
	}
	return nil
}
