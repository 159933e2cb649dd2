package kmod

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadIndex reads the index files depmod writes in a modules directory
// (/lib/modules/VERSION): modules.dep, which must be there, and
// modules.builtin, modules.alias and modules.softdep when they are, the soft
// dependencies resolved through the aliases (Deps.AddSoftdeps). The init's
// loader and the builder read a kernel's modules through this one reader,
// so the initramfs is built from the same view of them that boots it.
func ReadIndex(dir string) (*Deps, []Alias, error) {
	var d *Deps
	if err := readIndexFile(dir, "modules.dep", func(r io.Reader) (err error) {
		d, err = ParseDep(r)
		return err
	}); err != nil {
		return nil, nil, err
	}
	var aliases []Alias
	var sds []SoftDep
	hasSoft := false
	for _, f := range []struct {
		name  string
		parse func(io.Reader) error
	}{
		{"modules.builtin", d.ParseBuiltin},
		{"modules.alias", func(r io.Reader) (err error) { aliases, err = ParseAlias(r); return err }},
		{"modules.softdep", func(r io.Reader) (err error) { sds, err = ParseSoftdep(r); hasSoft = true; return err }},
	} {
		if err := readIndexFile(dir, f.name, f.parse); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}
	if hasSoft {
		d.AddSoftdeps(sds, aliases)
	}
	return d, aliases, nil
}

// readIndexFile opens dir/name and parses it. A file that cannot be opened
// is an error naming it, which matches fs.ErrNotExist when it is missing:
// the caller tells an optional file's absence from a broken one.
func readIndexFile(dir, name string, parse func(io.Reader) error) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	return parse(f)
}
