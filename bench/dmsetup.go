package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// installDmsetup puts Debian's dynamically linked dmsetup, its libraries
// and the loader into stage. The .debs come from apt-get download and are
// cached in cache; they are unpacked in unpack.
func installDmsetup(cache, unpack, stage string) error {
	pkgs, libs, err := unpackDmsetup(cache, unpack)
	if err != nil {
		return err
	}
	logf("dmsetup from %s", strings.Join(pkgs, " "))
	if err := testvm.CopyFile(filepath.Join(unpack, "sbin/dmsetup"), filepath.Join(stage, "sbin/dmsetup")); err != nil {
		return err
	}
	for name, p := range libs {
		dst := filepath.Join(stage, "lib/x86_64-linux-gnu", filepath.Base(name))
		if strings.HasPrefix(name, "/") { // the loader, at its PT_INTERP path
			dst = filepath.Join(stage, name)
		}
		src, err := resolve(unpack, p)
		if err != nil {
			return err
		}
		if err := testvm.CopyFile(src, dst); err != nil {
			return err
		}
	}
	return nil
}

// unpackDmsetup unpacks dmsetup's package and the ones of the libraries it
// takes, and returns the packages and the libraries (soname -> path in
// unpack). The library packages are found by asking ldd what the unpacked
// binary still takes from the host and dpkg -S who owns that.
func unpackDmsetup(cache, unpack string) ([]string, map[string]string, error) {
	pkgs := []string{"dmsetup", "libdevmapper1.02.1"}
	for round := 0; ; round++ {
		if err := unpackDebs(cache, unpack, pkgs); err != nil {
			return nil, nil, err
		}
		libs, missing, err := dmsetupLibs(unpack)
		if err != nil || len(missing) == 0 {
			return pkgs, libs, err
		}
		if round == 3 {
			return nil, nil, fmt.Errorf("dmsetup still takes %v from the host after unpacking %v", missing, pkgs)
		}
		for _, m := range missing {
			p, err := owner(m)
			if err != nil {
				return nil, nil, err
			}
			if !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
}

// unpackDebs unpacks the packages' .debs afresh into unpack.
func unpackDebs(cache, unpack string, pkgs []string) error {
	if err := os.RemoveAll(unpack); err != nil {
		return err
	}
	for _, p := range pkgs {
		deb, err := download(cache, p)
		if err != nil {
			return err
		}
		if err := hostcmd.Run("dpkg", "-x", deb, unpack); err != nil {
			return err
		}
	}
	return nil
}

// dmsetupLibs asks ldd what the unpacked dmsetup loads, with the unpacked
// library directories searched first: libs are the libraries found in
// unpack (soname -> path), missing the host paths of the others.
func dmsetupLibs(unpack string) (libs map[string]string, missing []string, err error) {
	var lp []string
	for _, l := range []string{"lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"} {
		lp = append(lp, filepath.Join(unpack, l))
	}
	cmd := exec.Command("ldd", filepath.Join(unpack, "sbin/dmsetup"))
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+strings.Join(lp, ":"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, nil, fmt.Errorf("ldd dmsetup: %v\n%s", err, out)
	}
	libs = map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		var name, path string
		switch {
		case len(f) >= 3 && f[1] == "=>" && f[2] == "not":
			return nil, nil, fmt.Errorf("ldd dmsetup: %s", line)
		case len(f) >= 3 && f[1] == "=>":
			name, path = f[0], f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"): // the loader
			name, path = f[0], f[0]
		default:
			continue
		}
		if !strings.HasPrefix(path, unpack+"/") {
			local := filepath.Join(unpack, path)
			if _, err := os.Lstat(local); err != nil || !strings.HasPrefix(name, "/") {
				missing = append(missing, path)
				continue
			}
			path = local // the loader, already unpacked from libc6
		}
		libs[name] = path
	}
	return libs, missing, nil
}

// download returns the cached .deb of pkg, fetching it with apt-get
// download when it is not there yet.
func download(cache, pkg string) (string, error) {
	name := strings.SplitN(pkg, ":", 2)[0]
	find := func() string {
		m, _ := filepath.Glob(filepath.Join(cache, name+"_*.deb"))
		if len(m) > 0 {
			return m[len(m)-1]
		}
		return ""
	}
	if deb := find(); deb != "" {
		return deb, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	logf("apt-get download %s", pkg)
	cmd := exec.Command("apt-get", "download", "-qq", pkg)
	cmd.Dir = cache
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s: %v\n%s", pkg, err, out)
	}
	if deb := find(); deb != "" {
		return deb, nil
	}
	return "", fmt.Errorf("apt-get download %s left no %s_*.deb in %s", pkg, name, cache)
}

// owner names the Debian package that installed a host file, trying the
// path as given and with its links resolved (merged /usr moves files).
func owner(path string) (string, error) {
	cands := []string{path}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		cands = append(cands, r, strings.TrimPrefix(r, "/usr"))
	}
	for _, c := range cands {
		out, err := exec.Command("dpkg", "-S", c).Output()
		if err == nil {
			pkg, _, _ := strings.Cut(strings.TrimSpace(string(out)), ": ")
			return pkg, nil
		}
	}
	return "", fmt.Errorf("dpkg -S %s: no package owns it", path)
}

// resolve follows symlinks inside an unpacked tree: absolute link targets
// (libc6's /lib64/ld-linux-x86-64.so.2) mean the tree, not the host.
func resolve(root, p string) (string, error) {
	for i := 0; i < 16; i++ {
		st, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(t) {
			p = filepath.Join(root, t)
		} else {
			p = filepath.Join(filepath.Dir(p), t)
		}
	}
	return "", fmt.Errorf("%s: too many links", p)
}
