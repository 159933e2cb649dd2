package kmod

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// SoftDep is one line of modules.softdep ("softdep MOD pre: A B post: C"),
// which depmod writes from the modules' MODULE_SOFTDEP: modules that
// modprobe loads before (Pre) and after (Post) Module when it can. A failed
// soft dependency does not fail the module. Pre and Post are as written:
// module names or aliases ("crypto-crc32c"); Deps.AddSoftdeps resolves them.
type SoftDep struct {
	Module    string
	Pre, Post []string
}

// String is the modules.softdep line.
func (s SoftDep) String() string {
	line := "softdep " + s.Module
	if len(s.Pre) > 0 {
		line += " pre: " + strings.Join(s.Pre, " ")
	}
	if len(s.Post) > 0 {
		line += " post: " + strings.Join(s.Post, " ")
	}
	return line
}

// ParseSoftdep reads modules.softdep. As modprobe does, names before any
// "pre:" or "post:" are ignored (depmod writes "softdep cifs gcm" for a
// MODULE_SOFTDEP that forgot its "pre:"), and "pre:" and "post:" may come
// in any order and more than once.
func ParseSoftdep(r io.Reader) ([]SoftDep, error) {
	var out []SoftDep
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] != "softdep" || len(f) < 2 || Name(f[1]) == "" {
			return nil, fmt.Errorf("modules.softdep line %d: %q: want softdep MODULE pre: NAME... post: NAME...", n, sc.Text())
		}
		s := SoftDep{Module: Name(f[1])}
		var list *[]string
		for _, w := range f[2:] {
			switch w {
			case "pre:":
				list = &s.Pre
			case "post:":
				list = &s.Post
			default:
				if list != nil {
					*list = append(*list, w)
				}
			}
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// AddSoftdeps records soft dependencies in d, each name resolved to the
// modules d has (Resolve). Names the kernel has no module for are dropped,
// as modprobe skips them; several lines for one module add up.
func (d *Deps) AddSoftdeps(sds []SoftDep, aliases []Alias) {
	if d.Soft == nil {
		d.Soft = map[string]SoftDep{}
	}
	resolve := func(mod string, dst *[]string, names []string) {
		for _, n := range names {
			for _, m := range d.Resolve(n, aliases) {
				if m != mod && !slices.Contains(*dst, m) {
					*dst = append(*dst, m)
				}
			}
		}
	}
	for _, s := range sds {
		mod := Name(s.Module)
		cur := d.Soft[mod]
		cur.Module = mod
		resolve(mod, &cur.Pre, s.Pre)
		resolve(mod, &cur.Post, s.Post)
		if len(cur.Pre) > 0 || len(cur.Post) > 0 {
			d.Soft[mod] = cur
		}
	}
}

// WriteSoftdep writes the resolved soft dependencies among the given
// modules only, so an initramfs carries a modules.softdep that matches its
// own files.
func (d *Deps) WriteSoftdep(w io.Writer, names []string) error {
	for _, n := range names {
		s, ok := d.Soft[n]
		if !ok {
			continue
		}
		in := func(l []string) []string {
			var out []string
			for _, m := range l {
				if slices.Contains(names, m) {
					out = append(out, m)
				}
			}
			return out
		}
		s = SoftDep{Module: n, Pre: in(s.Pre), Post: in(s.Post)}
		if len(s.Pre) == 0 && len(s.Post) == 0 {
			continue
		}
		if _, err := fmt.Fprintln(w, s); err != nil {
			return err
		}
	}
	return nil
}

// available reports whether a module and all it needs (not its soft
// dependencies) are in modules.dep or built in.
func (d *Deps) available(n string) bool {
	seen := map[string]bool{}
	var walk func(n string) bool
	walk = func(n string) bool {
		if seen[n] || d.Builtin[n] {
			return true
		}
		if _, ok := d.Path[n]; !ok {
			return false
		}
		seen[n] = true
		for _, m := range d.Need[n] {
			if !walk(m) {
				return false
			}
		}
		return true
	}
	return walk(Name(n))
}

// waitsFor reports whether loading from waits, through the modules it
// needs and its pre soft dependencies, for target: a pre soft dependency
// that would is not waited for, so a loop of soft dependencies cannot
// deadlock the loader.
func (d *Deps) waitsFor(from, target string) bool {
	seen := map[string]bool{}
	var walk func(n string) bool
	walk = func(n string) bool {
		if n == target {
			return true
		}
		if seen[n] {
			return false
		}
		seen[n] = true
		for _, m := range d.Need[n] {
			if walk(m) {
				return true
			}
		}
		for _, m := range d.Soft[n].Pre {
			if walk(m) {
				return true
			}
		}
		return false
	}
	return walk(from)
}
