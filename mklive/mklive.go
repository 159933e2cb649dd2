// Package mklive builds what a sandbox-init Live CD is made of: the root
// image (mke2fs -d), the initramfs (our static init plus exactly the kernel
// modules it needs) and the bootable ISO (isolinux, xorriso). It is the
// how-to's "Making a Live CD" section as code.
package mklive

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/kmod"
)

// tools maps each external program to the Debian package that provides it,
// so a missing one is reported with the fix.
var tools = map[string]string{
	"mke2fs":             "e2fsprogs",
	"depmod":             "kmod",
	"xorriso":            "xorriso",
	"grub-mkstandalone":  "grub-efi-amd64-bin (with grub-common)",
	"mformat":            "mtools",
	"mmd":                "mtools",
	"mcopy":              "mtools",
	"go":                 "golang (or https://go.dev/dl)",
	"qemu-system-x86_64": "qemu-system-x86",
}

// Need checks that an external program is installed, and returns its
// path. depmod and mke2fs live in /usr/sbin, which a Debian user's PATH
// lacks: it is searched too.
func Need(tool string) (string, error) {
	p, err := exec.LookPath(tool)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, tool)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed: install the Debian package %s (scripts/setup.sh does)", tool, tools[tool])
}

// Run runs an external tool, its output kept for the error.
func Run(name string, args ...string) error {
	p, err := Need(name)
	if err != nil {
		return err
	}
	cmd := exec.Command(p, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

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
// from the COW store's (zram and its compressors).
func isDriver(m string) bool {
	switch m {
	case "zram", "lzo-rle", "lzo", "lz4", "lz4hc", "zstd", "842":
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
	add := func(dst *[]string, names ...string) {
		for _, n := range names {
			if !slices.Contains(*dst, n) {
				*dst = append(*dst, n)
			}
		}
	}
	for _, c := range []config.Config{cd, disk} {
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
	return required, optional
}

// BuildInit compiles sandbox-init as a static binary. repo is the module root.
func BuildInit(repo, out string) error {
	if _, err := Need("go"); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./init")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./init: %w\n%s", err, b)
	}
	return nil
}
