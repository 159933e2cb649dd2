package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
	"github.com/sandbox-init/sandbox-init/modpolicy"
)

// initBuild is one build of the init and the modules mklive's initramfs
// takes with it, as `mklive initramfs` chooses them: a CD's (no
// network), a network boot's (-net: NIC drivers, nbd), an https:// one's
// (-ca system: the RNG drivers and the host's CA bundle too).
type initBuild struct {
	name string
	tags []string
	ca   string
	opt  []string
}

func initBuilds() []initBuild {
	net := append(append([]string{}, modpolicy.NetDrivers...), "nbd")
	return []initBuild{
		{"CD (nonet)", []string{mklive.NoNetTag}, "", nil},
		{"network (-net)", nil, "", net},
		{"https (-ca system, tls)", []string{mklive.TLSTag}, mklive.SystemCA, append(append([]string{}, net...), modpolicy.RNGDrivers...)},
	}
}

// sizeTable builds each init and its initramfs (zstd, mklive's default)
// for every kernel of the cache.
func sizeTable(repo, work string) (table, error) {
	t := table{title: "Sizes: each build of sandbox-init and mklive's initramfs of it (bytes; zstd -19)",
		head: []string{"build", "init", "init alone, zstd"}}
	for _, k := range testvm.Kernels {
		t.head = append(t.head, "initramfs "+k)
	}
	dir := filepath.Join(work, "sizes")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return t, err
	}
	for i, b := range initBuilds() {
		row, err := b.sizes(repo, filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			return t, fmt.Errorf("sizes of the %s build: %w", b.name, err)
		}
		t.rows = append(t.rows, row)
	}
	t.notes = []string{
		"Modules are stored decompressed and the whole archive compressed once; they cannot be stripped (their signatures cover every byte). xz packs ~9% tighter but the kernel unpacks it ~5× slower (cloud kernel, icount: 1.66 s against 0.34 s), later Run /init by more than the bytes save.",
		"Cells: compressed size (modules).",
	}
	return t, nil
}

// sizes builds the init and its initramfs per kernel: one row.
func (b initBuild) sizes(repo, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "sandbox-init")
	if err := mklive.BuildInit(repo, bin, b.tags...); err != nil {
		return nil, err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return nil, err
	}
	row := []string{b.name, fmt.Sprint(st.Size()), ""}
	for _, name := range testvm.Kernels {
		k, err := testvm.Kernel(testvm.CacheDir(repo), name)
		if err != nil {
			return nil, err
		}
		if row[2] == "" { // the init alone: an initramfs without modules
			rep, err := mklive.BuildInitramfs(mklive.InitramfsSpec{Init: bin, Kernel: k, Out: filepath.Join(dir, "alone.img")})
			if err != nil {
				return nil, err
			}
			row[2] = fmt.Sprint(rep.Compressed)
		}
		req, opt := modpolicy.Default()
		rep, err := mklive.BuildInitramfs(mklive.InitramfsSpec{Init: bin, Kernel: k, Required: req,
			Optional: append(opt, b.opt...), CA: b.ca, Out: filepath.Join(dir, name+".img")})
		if err != nil {
			return nil, err
		}
		row = append(row, fmt.Sprintf("%d (%d)", rep.Compressed, len(rep.Modules)))
	}
	return row, nil
}
