package mklive

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/sandbox-init/sandbox-init/modpolicy"
	"github.com/sandbox-init/sandbox-init/netfetch/tlsclient"
	"github.com/u-root/u-root/pkg/cpio"
)

// InitramfsSpec says what goes into an initramfs.
type InitramfsSpec struct {
	Init     string   // the static sandbox-init binary
	Kernel   Kernel   // whose modules to take
	Required []string // modules that must be there (error if the kernel lacks one)
	Optional []string // modules taken when the kernel has them
	Shell    string   // optional static busybox, installed as /bin/sh for the rescue shell
	// CA is a PEM bundle of CA certificates, put where the init reads
	// it (tlsclient.BundlePath) to check https:// servers; optional.
	CA  string
	Out string // the compressed cpio to write
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
	if err := checkTLS(false, s.CA, s.Init); err != nil {
		return rep, err
	}
	d, aliases, err := s.Kernel.index()
	if err != nil {
		return rep, err
	}
	if rep.Modules, err = s.closure(d); err != nil {
		return rep, err
	}
	recs, err := s.programs()
	if err != nil {
		return rep, err
	}
	if len(rep.Modules) > 0 {
		mrecs, err := moduleRecords(s.Kernel, d, aliases, rep.Modules)
		if err != nil {
			return rep, err
		}
		recs = append(recs, mrecs...)
	}
	for _, r := range recs {
		rep.Unpacked += int64(r.FileSize)
	}
	packed, err := pack(recs, s.Compression)
	if err != nil {
		return rep, err
	}
	rep.Compressed = int64(len(packed))
	return rep, os.WriteFile(s.Out, packed, 0o644)
}

// closure is the modules the initramfs takes: the required ones, the
// optional ones the kernel has (with all they need; a companion only with
// the module it serves, modpolicy.Companion), and their closure.
func (s InitramfsSpec) closure(d *kmod.Deps) ([]string, error) {
	want := append([]string(nil), s.Required...)
	has := func(m string) bool { _, err := d.Closure(m); return err == nil }
	for _, m := range s.Optional {
		if c, ok := modpolicy.Companion(m); ok && !has(c) {
			continue
		}
		if has(m) {
			want = append(want, m)
		}
	}
	mods, err := d.Closure(want...)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", s.Kernel.Version, err)
	}
	return mods, nil
}

// programs is the initramfs without its modules: /dev/console, /init and,
// when asked for, the rescue shell and the CA bundle.
func (s InitramfsSpec) programs() ([]cpio.Record, error) {
	initBin, err := os.ReadFile(s.Init)
	if err != nil {
		return nil, fmt.Errorf("init binary: %w", err)
	}
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.StaticFile("init", string(initBin), 0o755),
	}
	if s.Shell != "" {
		b, err := os.ReadFile(s.Shell)
		if err != nil {
			return nil, fmt.Errorf("shell: %w", err)
		}
		recs = append(recs, cpio.StaticFile("bin/busybox", string(b), 0o755), cpio.Symlink("bin/sh", "busybox"))
	}
	if s.CA != "" {
		b, err := readCA(s.CA) // a bundle the init cannot read fails now, not at boot
		if err != nil {
			return nil, err
		}
		recs = append(recs, cpio.StaticFile(strings.TrimPrefix(tlsclient.BundlePath, "/"), string(b), 0o644))
	}
	return recs, nil
}

// moduleRecords is lib/modules/VERSION of the initramfs: the modules mods,
// decompressed, and index files that name only them.
func moduleRecords(k Kernel, d *kmod.Deps, aliases []kmod.Alias, mods []string) ([]cpio.Record, error) {
	mdir := "lib/modules/" + k.Version
	// The initramfs's own modules.dep names the modules as it holds
	// them: decompressed, .ko.
	own := &kmod.Deps{Path: map[string]string{}, Need: d.Need, Builtin: d.Builtin, Soft: d.Soft}
	for _, m := range mods {
		own.Path[m] = plainPath(d.Path[m])
	}
	recs, err := indexRecords(k, own, aliases, mods)
	if err != nil {
		return nil, err
	}
	var mr moduleReader
	defer mr.close()
	for _, m := range mods {
		b, err := mr.read(filepath.Join(k.ModulesDir(), d.Path[m]))
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", m, err)
		}
		recs = append(recs, cpio.StaticFile(mdir+"/"+own.Path[m], string(b), 0o644))
	}
	return recs, nil
}

// indexRecords writes the initramfs's modules.dep, modules.softdep,
// modules.builtin and modules.alias, from own (the kernel's index with the
// initramfs's paths) for the modules mods. modules.builtin and
// modules.alias are there when the kernel has them.
func indexRecords(k Kernel, own *kmod.Deps, aliases []kmod.Alias, mods []string) ([]cpio.Record, error) {
	mdir := "lib/modules/" + k.Version
	var dep, soft, alias bytes.Buffer
	if err := own.WriteDep(&dep, mods); err != nil {
		return nil, err
	}
	// Soft dependencies resolved to module names, among those taken.
	soft.WriteString("# Soft dependencies of this initramfs's modules, resolved to module names.\n")
	if err := own.WriteSoftdep(&soft, mods); err != nil {
		return nil, err
	}
	recs := []cpio.Record{
		cpio.StaticFile(mdir+"/modules.dep", dep.String(), 0o644),
		cpio.StaticFile(mdir+"/modules.softdep", soft.String(), 0o644),
	}
	if b, err := os.ReadFile(filepath.Join(k.ModulesDir(), "modules.builtin")); err == nil {
		recs = append(recs, cpio.StaticFile(mdir+"/modules.builtin", string(b), 0o644))
	}
	// The aliases of the modules taken: the init loads a hardware driver
	// only when a device's modalias asks for it.
	if _, err := os.Stat(filepath.Join(k.ModulesDir(), "modules.alias")); err == nil {
		if err := kmod.WriteAlias(&alias, aliases, mods); err != nil {
			return nil, err
		}
		recs = append(recs, cpio.StaticFile(mdir+"/modules.alias", alias.String(), 0o644))
	}
	return recs, nil
}

// pack writes recs as a reproducible newc cpio, sorted by name, and
// compresses it.
func pack(recs []cpio.Record, compression string) ([]byte, error) {
	var raw bytes.Buffer
	w := cpio.NewDedupWriter(cpio.Newc.Writer(&raw))
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	for i := range recs {
		recs[i] = cpio.MakeReproducible(recs[i])
	}
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		return nil, err
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, err
	}
	return compress(compression, raw.Bytes())
}
