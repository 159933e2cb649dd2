package kmod

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Alias is one line of modules.alias: devices whose modalias matches
// Pattern (a shell glob) are driven by Module.
type Alias struct {
	Pattern string
	Module  string
}

// ParseAlias reads modules.alias ("alias PATTERN MODULE").
func ParseAlias(r io.Reader) ([]Alias, error) {
	var out []Alias
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 3 || f[0] != "alias" {
			return nil, fmt.Errorf("modules.alias line %d: %q: want alias PATTERN MODULE", n, sc.Text())
		}
		out = append(out, Alias{Pattern: f[1], Module: Name(f[2])})
	}
	return out, sc.Err()
}

// Match returns the modules whose aliases match a device's modalias, the
// way modprobe resolves one.
func Match(aliases []Alias, modalias string) []string {
	var out []string
	for _, a := range aliases {
		// The literal head of a pattern rules out most aliases for the
		// price of a prefix compare; path.Match is much dearer, and at
		// boot every instruction counts.
		lit := a.Pattern
		if i := strings.IndexAny(lit, "*?[\\"); i >= 0 {
			lit = lit[:i]
		}
		if !strings.HasPrefix(modalias, lit) {
			continue
		}
		if ok, _ := path.Match(a.Pattern, modalias); ok && !slices.Contains(out, a.Module) {
			out = append(out, a.Module)
		}
	}
	return out
}

// WriteAlias writes the aliases of the given modules only.
func WriteAlias(w io.Writer, aliases []Alias, modules []string) error {
	for _, a := range aliases {
		if slices.Contains(modules, a.Module) {
			if _, err := fmt.Fprintf(w, "alias %s %s\n", a.Pattern, a.Module); err != nil {
				return err
			}
		}
	}
	return nil
}

// Resolve returns the modules (listed in modules.dep) that a name means, as
// modprobe looks it up: the module of that name, else every module an alias
// of that name points to ("crc32c" may be crc32c_intel and
// crc32c_generic). A built-in or unknown name gives nothing to load.
func (d *Deps) Resolve(name string, aliases []Alias) []string {
	if _, ok := d.Path[Name(name)]; ok {
		return []string{Name(name)}
	}
	if d.Builtin[Name(name)] {
		return nil
	}
	var out []string
	want := normAlias(name)
	for _, a := range aliases {
		if _, ok := d.Path[a.Module]; !ok || slices.Contains(out, a.Module) {
			continue
		}
		if ok, _ := path.Match(normAlias(a.Pattern), want); ok {
			out = append(out, a.Module)
		}
	}
	return out
}

// normAlias maps - to _ outside bracket expressions, as kmod does before it
// looks an alias up.
func normAlias(s string) string {
	if !strings.Contains(s, "-") {
		return s
	}
	b := []byte(s)
	in := false
	for i, c := range b {
		switch {
		case c == '[':
			in = true
		case c == ']':
			in = false
		case c == '-' && !in:
			b[i] = '_'
		}
	}
	return string(b)
}
