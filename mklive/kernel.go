package mklive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/kmod"
)

// modulesDirs are where kernel packages put MODULES/VERSION: lib/modules
// (Debian 12 and before), usr/lib/modules (Debian 13's packages, Fedora,
// Arch: merged /usr). On an installed merged-/usr system lib is a symlink
// to usr/lib and both name the same directory.
var modulesDirs = []string{"lib/modules", "usr/lib/modules"}

// Kernel is an unpacked kernel, as a distribution's package unpacked with
// dpkg -x (or an installed system's /): Root holds the image,
// boot/vmlinuz-VERSION or MODULES/VERSION/vmlinuz, and the modules,
// MODULES/VERSION with MODULES lib/modules or usr/lib/modules.
type Kernel struct {
	Root    string
	Version string

	modules string // the modules directory found
	image   string // the kernel image found
}

// FindKernel finds a kernel under root. kver picks a version; "" takes the
// only one there is or, when root is this system's /, the running kernel.
func FindKernel(root, kver string) (Kernel, error) {
	return findKernel(root, kver, filepath.Clean(root) == "/", kmod.Release)
}

// findKernel is FindKernel with the host's part given: host says root is
// the running system, release names its kernel.
func findKernel(root, kver string, host bool, release func() (string, error)) (Kernel, error) {
	dirs := map[string]string{} // version -> its modules directory
	var vers []string
	for _, m := range modulesDirs {
		ents, err := os.ReadDir(filepath.Join(root, m))
		if err != nil {
			continue
		}
		for _, e := range ents {
			dir := filepath.Join(root, m, e.Name())
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				continue
			}
			if _, seen := dirs[e.Name()]; !seen {
				dirs[e.Name()] = dir
				vers = append(vers, e.Name())
			}
		}
	}
	sort.Strings(vers)
	where := strings.Join(modulesDirs, " or ")
	if len(vers) == 0 {
		return Kernel{}, fmt.Errorf("kernel tree %s: no kernel modules in %s (unpack a kernel package there with dpkg -x)", root, where)
	}
	list := strings.Join(vers, ", ")
	switch {
	case kver != "":
		if _, ok := dirs[kver]; !ok {
			return Kernel{}, fmt.Errorf("kernel tree %s: no version %s in %s; it has %s", root, kver, where, list)
		}
	case len(vers) == 1:
		kver = vers[0]
	case host:
		rel, err := release()
		if err != nil {
			return Kernel{}, fmt.Errorf("kernel tree %s has several versions (%s) and the running one is unknown: %w; pick one with -kver", root, list, err)
		}
		if _, ok := dirs[rel]; !ok {
			return Kernel{}, fmt.Errorf("kernel tree %s has several versions (%s), none of them the running kernel %s: pick one with -kver", root, list, rel)
		}
		kver = rel
	default:
		return Kernel{}, fmt.Errorf("kernel tree %s has several versions: %s: pick one with -kver", root, list)
	}
	k := Kernel{Root: root, Version: kver, modules: dirs[kver]}
	// Debian's packages put the image in boot; Fedora's and Arch's beside
	// the modules, and their boot/vmlinuz-V is made at install time.
	tried := []string{filepath.Join(root, "boot", "vmlinuz-"+kver)}
	for _, m := range modulesDirs {
		tried = append(tried, filepath.Join(root, m, kver, "vmlinuz"))
	}
	for _, p := range tried {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			k.image = p
			return k, nil
		}
	}
	return Kernel{}, fmt.Errorf("kernel tree %s: no kernel image for %s: looked for %s", root, kver, strings.Join(tried, ", "))
}

// Vmlinuz is the kernel image.
func (k Kernel) Vmlinuz() string {
	if k.image != "" {
		return k.image
	}
	return filepath.Join(k.Root, "boot", "vmlinuz-"+k.Version)
}

// ModulesDir is the modules directory: ROOT/lib/modules/VERSION or
// ROOT/usr/lib/modules/VERSION, whichever FindKernel found.
func (k Kernel) ModulesDir() string {
	if k.modules != "" {
		return k.modules
	}
	return filepath.Join(k.Root, "lib/modules", k.Version)
}

// Deps reads the kernel's modules.dep, modules.builtin and modules.softdep
// (resolved through modules.alias), running depmod first when the tree
// lacks modules.dep (Debian's packages do not ship it).
func (k Kernel) Deps() (*kmod.Deps, error) {
	d, _, err := k.index()
	return d, err
}

// index is Deps with the kernel's aliases (modules.alias; none when the
// tree has none), which the initramfs carries for the modules it takes.
func (k Kernel) index() (*kmod.Deps, []kmod.Alias, error) {
	if err := k.depmod(); err != nil {
		return nil, nil, err
	}
	return kmod.ReadIndex(k.ModulesDir())
}

// depmod writes the modules directory's modules.dep unless it has one.
// depmod -b BASE reads BASE/lib/modules/VERSION, so for usr/lib/modules the
// base is ROOT/usr; a depmod built to read usr/lib/modules itself gets ROOT
// next.
func (k Kernel) depmod() error {
	dir := k.ModulesDir()
	dep := filepath.Join(dir, "modules.dep")
	if _, err := os.Stat(dep); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	bases := []string{k.Root}
	if b, ok := strings.CutSuffix(filepath.Clean(dir), string(filepath.Separator)+filepath.Join("lib/modules", k.Version)); ok {
		if b == "" {
			b = "/"
		}
		if b != filepath.Clean(k.Root) {
			bases = []string{b, k.Root}
		}
	}
	var errs []error
	for _, b := range bases {
		if err := hostcmd.Run("depmod", "-b", b, k.Version); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := os.Stat(dep); err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("depmod -b %s %s wrote no %s", b, k.Version, dep))
	}
	return errors.Join(errs...)
}
