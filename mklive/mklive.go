// Package mklive builds what a sandbox-init Live CD is made of: the root
// image (mke2fs -d), by default a sparse ext4 image with room to write in a
// compressed squashfs container (mksquashfs; Fedora's LiveOS layout), the
// initramfs (our static init plus exactly the kernel modules it needs) and
// the bootable ISO (isolinux, xorriso). It is the how-to's "Making a Live
// CD" section as code.
package mklive

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/kmod"
)

// tools maps each external program to the Debian package that provides it,
// so a missing one is reported with the fix.
var tools = map[string]string{
	"mke2fs":               "e2fsprogs",
	"dumpe2fs":             "e2fsprogs",
	"debugfs":              "e2fsprogs",
	"mksquashfs":           "squashfs-tools",
	"unsquashfs":           "squashfs-tools",
	"depmod":               "kmod",
	"xorriso":              "xorriso",
	"grub-mkstandalone":    "grub-efi-amd64-bin (with grub-common)",
	"mformat":              "mtools",
	"mmd":                  "mtools",
	"mcopy":                "mtools",
	"mtype":                "mtools",
	"mdir":                 "mtools",
	"go":                   "golang (or https://go.dev/dl)",
	"qemu-system-x86_64":   "qemu-system-x86",
	"objcopy":              "binutils",
	"sbsign":               "sbsigntool",
	"sbverify":             "sbsigntool",
	"openssl":              "openssl",
	"cert-to-efi-sig-list": "efitools",
	"sign-efi-sig-list":    "efitools",
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

// progressEvery is how often a long step (mke2fs, mksquashfs, xorriso)
// says how far it is.
var progressEvery = 10 * time.Second

// RunProgress runs a long external step like Run, and every progressEvery
// logs a plain line saying how far it is: the share of total (the bytes
// the step reads: the tree, the image, the CD's files) the program has
// read so far and what it has written (/proc/PID/io), with the time
// taken. A reader ahead of a slow compressor waits, so the share read
// moves unevenly; what is written moves on.
func RunProgress(log func(format string, args ...any), what string, total uint64, name string, args ...string) error {
	p, err := Need(name)
	if err != nil {
		return err
	}
	cmd := exec.Command(p, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
			}
			return nil
		case <-tick.C:
			read, written, ok := ioCounts(cmd.Process.Pid)
			switch {
			case ok && total > 0:
				log("%s: %d%% read, %s written, %s so far", what, min(99, read*100/total), config.HumanBytes(written), Took(start))
			case ok:
				log("%s: %s written, %s so far", what, config.HumanBytes(written), Took(start))
			default:
				log("%s: %s so far", what, Took(start))
			}
		}
	}
}

// ioCounts is what a process has read and written so far (rchar and
// wchar in /proc/PID/io: read(2), write(2) and their kin, holes of sparse
// files included).
func ioCounts(pid int) (read, written uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, false
	}
	var seen int
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "rchar":
			read, seen = n, seen+1
		case "wchar":
			written, seen = n, seen+1
		}
	}
	return read, written, seen == 2
}

// Took is the time since start, for the build's log: "12.3 s".
func Took(start time.Time) string {
	return fmt.Sprintf("%.1f s", time.Since(start).Seconds())
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
