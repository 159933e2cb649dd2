// Package mklive builds what a sandbox-init Live CD is made of: the root
// image (mke2fs -d), the initramfs (our static init plus exactly the kernel
// modules it needs) and the bootable ISO (isolinux, xorriso). It is the
// how-to's "Making a Live CD" section as code.
package mklive

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/u-root/u-root/pkg/cpio"
	"github.com/ulikunitz/xz"
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

// InitramfsSpec says what goes into an initramfs.
type InitramfsSpec struct {
	Init     string   // the static sandbox-init binary
	Kernel   Kernel   // whose modules to take
	Required []string // modules that must be there (error if the kernel lacks one)
	Optional []string // modules taken when the kernel has them
	Shell    string   // optional static busybox, installed as /bin/sh for the rescue shell
	Out      string   // the compressed cpio to write
	// Compression is zstd (default: smallest that unpacks fast), xz
	// (smallest, slowest to unpack) or gzip (any kernel has it).
	Compression string
}

// InitramfsReport says what went in.
type InitramfsReport struct {
	Path       string
	Compressed int64
	Unpacked   int64
	Modules    []string
}

// BuildInitramfs writes a compressed newc cpio holding /init, /dev/console,
// the modules (decompressed, as .ko files) with a modules.dep, modules.alias
// and modules.softdep of their own, and optionally /bin/sh. The modules are
// the ones asked for and their closure, soft dependencies included.
func BuildInitramfs(s InitramfsSpec) (InitramfsReport, error) {
	rep := InitramfsReport{Path: s.Out}
	d, err := s.Kernel.Deps()
	if err != nil {
		return rep, err
	}
	want := append([]string(nil), s.Required...)
	for _, m := range s.Optional {
		if _, err := d.Closure(m); err == nil {
			want = append(want, m)
		}
	}
	mods, err := d.Closure(want...)
	if err != nil {
		return rep, fmt.Errorf("kernel %s: %w", s.Kernel.Version, err)
	}
	rep.Modules = mods
	initBin, err := os.ReadFile(s.Init)
	if err != nil {
		return rep, fmt.Errorf("init binary: %w", err)
	}
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.StaticFile("init", string(initBin), 0o755),
	}
	mdir := "lib/modules/" + s.Kernel.Version
	if len(mods) > 0 {
		// The initramfs's own modules.dep names the modules as it holds
		// them: decompressed, .ko.
		own := &kmod.Deps{Path: map[string]string{}, Need: d.Need, Builtin: d.Builtin, Soft: d.Soft}
		for _, m := range mods {
			own.Path[m] = plainPath(d.Path[m])
		}
		var dep, soft bytes.Buffer
		if err := own.WriteDep(&dep, mods); err != nil {
			return rep, err
		}
		recs = append(recs, cpio.StaticFile(mdir+"/modules.dep", dep.String(), 0o644))
		// Soft dependencies resolved to module names, among those taken.
		soft.WriteString("# Soft dependencies of this initramfs's modules, resolved to module names.\n")
		if err := own.WriteSoftdep(&soft, mods); err != nil {
			return rep, err
		}
		recs = append(recs, cpio.StaticFile(mdir+"/modules.softdep", soft.String(), 0o644))
		if b, err := os.ReadFile(filepath.Join(s.Kernel.ModulesDir(), "modules.builtin")); err == nil {
			recs = append(recs, cpio.StaticFile(mdir+"/modules.builtin", string(b), 0o644))
		}
		// The aliases of the modules taken: the init loads a hardware
		// driver only when a device's modalias asks for it.
		if f, err := os.Open(filepath.Join(s.Kernel.ModulesDir(), "modules.alias")); err == nil {
			as, err := kmod.ParseAlias(f)
			f.Close()
			if err != nil {
				return rep, err
			}
			var b bytes.Buffer
			if err := kmod.WriteAlias(&b, as, mods); err != nil {
				return rep, err
			}
			recs = append(recs, cpio.StaticFile(mdir+"/modules.alias", b.String(), 0o644))
		}
		var mr moduleReader
		defer mr.close()
		for _, m := range mods {
			b, err := mr.read(filepath.Join(s.Kernel.ModulesDir(), d.Path[m]))
			if err != nil {
				return rep, fmt.Errorf("module %s: %w", m, err)
			}
			recs = append(recs, cpio.StaticFile(mdir+"/"+own.Path[m], string(b), 0o644))
		}
	}
	if s.Shell != "" {
		b, err := os.ReadFile(s.Shell)
		if err != nil {
			return rep, fmt.Errorf("shell: %w", err)
		}
		recs = append(recs, cpio.StaticFile("bin/busybox", string(b), 0o755), cpio.Symlink("bin/sh", "busybox"))
	}
	for _, r := range recs {
		rep.Unpacked += int64(r.FileSize)
	}
	var raw bytes.Buffer
	w := cpio.NewDedupWriter(cpio.Newc.Writer(&raw))
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	for i := range recs {
		recs[i] = cpio.MakeReproducible(recs[i])
	}
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		return rep, err
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return rep, err
	}
	packed, err := compress(s.Compression, raw.Bytes())
	if err != nil {
		return rep, err
	}
	rep.Compressed = int64(len(packed))
	return rep, os.WriteFile(s.Out, packed, 0o644)
}

// compressors are the command-line encoders of each method, set for what
// the kernel's decoders take: an 8 MiB window at most for zstd (the kernel
// allocates what the frame asks for), a CRC32 check for xz (not CRC64).
var compressors = map[string][]string{
	"":     {"zstd", "-19", "-q", "-c", "--zstd=wlog=23"},
	"zstd": {"zstd", "-19", "-q", "-c", "--zstd=wlog=23"},
	"xz":   {"xz", "-9e", "-c", "--check=crc32"},
}

// compress packs an initramfs the way the kernel can unpack it
// (CONFIG_RD_ZSTD, CONFIG_RD_XZ, CONFIG_RD_GZIP).
func compress(method string, raw []byte) ([]byte, error) {
	// The reference encoders pack 10-20% tighter than the Go ones (Debian
	// 12's standard kernel: 3.0 MB with zstd -19, 3.4 MB in Go): use them
	// when installed (scripts/setup.sh installs both).
	if args := compressors[method]; args != nil {
		if _, err := exec.LookPath(args[0]); err == nil {
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Stdin = bytes.NewReader(raw)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, errb.String())
			}
			return out.Bytes(), nil
		}
	}
	var out bytes.Buffer
	var w io.WriteCloser
	var err error
	switch method {
	case "", "zstd":
		// An 8 MiB window: the kernel's decoder allocates what the frame
		// header asks for.
		w, err = zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithWindowSize(8<<20))
	case "xz":
		// The kernel's xz decoder takes CRC32 or no check, not CRC64.
		w, err = xz.WriterConfig{CheckSum: xz.CRC32, DictCap: 8 << 20}.NewWriter(&out)
	case "gzip":
		w, err = gzip.NewWriterLevel(&out, gzip.BestCompression)
	default:
		return nil, fmt.Errorf("compression %q: want zstd, xz or gzip", method)
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
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
