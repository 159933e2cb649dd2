// Package kmod resolves kernel modules from modules.dep and loads them. The
// builder uses the resolver to put exactly the needed modules into the
// initramfs; the init uses the loader to load them, independent chains at
// once.
package kmod

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
)

// Name normalizes a module name: the kernel treats - and _ alike, and
// modules.dep paths carry a directory and a .ko(.xz|.zst|.gz) suffix.
func Name(s string) string {
	s = path.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// Deps is a parsed modules.dep: for each module, its file (relative to
// /lib/modules/VERSION) and the modules it needs directly or not, as depmod
// wrote them.
type Deps struct {
	Path map[string]string
	Need map[string][]string
	// Builtin holds modules compiled into the kernel (modules.builtin):
	// asking for one is fine and loads nothing.
	Builtin map[string]bool
	// Soft holds each module's soft dependencies (modules.softdep, see
	// AddSoftdeps), resolved to modules of Path: loaded with the module
	// when they can be, never failing it.
	Soft map[string]SoftDep
}

// ParseDep reads modules.dep ("kernel/a.ko: kernel/b.ko kernel/c.ko").
func ParseDep(r io.Reader) (*Deps, error) {
	d := &Deps{Path: map[string]string{}, Need: map[string][]string{}, Builtin: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		file, deps, ok := strings.Cut(line, ":")
		if !ok || file == "" {
			return nil, fmt.Errorf("modules.dep line %d: %q has no ':'", n, line)
		}
		name := Name(file)
		d.Path[name] = file
		var need []string
		for _, f := range strings.Fields(deps) {
			need = append(need, Name(f))
		}
		d.Need[name] = need
	}
	return d, sc.Err()
}

// ParseBuiltin adds modules.builtin's names to d.
func (d *Deps) ParseBuiltin(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			d.Builtin[Name(s)] = true
		}
	}
	return sc.Err()
}

// MissingError names a module that is neither in modules.dep nor built in.
type MissingError struct{ Module, Wanted string }

func (e *MissingError) Error() string {
	if e.Wanted != "" && e.Wanted != e.Module {
		return fmt.Sprintf("module %s (needed by %s) is not available", e.Module, e.Wanted)
	}
	return fmt.Sprintf("module %s is not available", e.Module)
}

// CycleError is a loop in modules.dep: modules that need each other have
// no order to load in, and a loader waiting for each one's needs first
// would wait forever.
type CycleError struct{ Loop []string } // the first module again at the end

func (e *CycleError) Error() string {
	return "modules.dep has a dependency cycle: " + strings.Join(e.Loop, " needs ") + " (rebuild it with depmod; a module of another kernel?)"
}

// Closure returns the given modules and everything they need, sorted so
// that each module comes after the modules it needs; built-in modules are
// left out. A module that cannot be found is an error naming it, and so is
// a cycle of modules that need each other (CycleError). The soft
// dependencies of each module (Soft) are in too, pre ones before it and
// post ones after it, when they and what they need are there: one that is
// not is skipped, as modprobe does. A soft dependency may lead back to the
// module (the loader does not wait for it then): its walk starts a chain
// of its own.
func (d *Deps) Closure(names ...string) ([]string, error) {
	seen := map[string]bool{}
	var order []string
	var visit func(n, wanted string, chain []string) error
	visit = func(n, wanted string, chain []string) error {
		n = Name(n)
		if i := slices.Index(chain, n); i >= 0 {
			return &CycleError{Loop: append(slices.Clone(chain[i:]), n)}
		}
		if seen[n] || d.Builtin[n] {
			return nil
		}
		if _, ok := d.Path[n]; !ok {
			return &MissingError{Module: n, Wanted: wanted}
		}
		seen[n] = true
		soft := d.Soft[n]
		softVisit := func(ms []string) error {
			for _, m := range ms {
				if d.available(m) {
					if err := visit(m, n, nil); err != nil {
						return err
					}
				}
			}
			return nil
		}
		if err := softVisit(soft.Pre); err != nil {
			return err
		}
		need := append([]string(nil), d.Need[n]...)
		sort.Strings(need)
		chain = append(chain, n)
		for _, m := range need {
			if err := visit(m, n, chain); err != nil {
				return err
			}
		}
		order = append(order, n)
		return softVisit(soft.Post)
	}
	for _, n := range names {
		if err := visit(n, "", nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// WriteDep writes modules.dep lines for the given modules only, so an
// initramfs carries a modules.dep that matches its own files.
func (d *Deps) WriteDep(w io.Writer, names []string) error {
	for _, n := range names {
		var deps []string
		for _, m := range d.Need[n] {
			deps = append(deps, d.Path[m])
		}
		line := d.Path[n] + ":"
		if len(deps) > 0 {
			line += " " + strings.Join(deps, " ")
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
