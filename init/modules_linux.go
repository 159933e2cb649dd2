package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/kmod"
)

func (s *sandbox) loadModules() error {
	rel, err := kmod.Release()
	if err != nil {
		return fail("modules", "", err, "")
	}
	dir := filepath.Join("/lib/modules", rel)
	l, err := kmod.NewLoader(dir)
	if errors.Is(err, os.ErrNotExist) {
		// A kernel with everything built in needs no modules.
		s.log.Printf("no %s/modules.dep: assuming the drivers are built in", dir)
		return nil
	}
	if err != nil {
		return fail("modules", dir, err, "the initramfs's modules.dep is broken: rebuild the initramfs")
	}
	l.Params = moduleParams(s.cfg)
	if s.cfg.COW == "ram0" || s.cfg.COW == "zram" {
		if err := s.sizeCOW(); err != nil {
			return err
		}
	}
	if s.cfg.COW == "ram0" {
		// Later parameters win in the kernel's parser: ours come last.
		l.Params["brd"] = strings.TrimSpace(l.Params["brd"] + fmt.Sprintf(" rd_nr=1 rd_size=%d", s.state.COWBytes>>10))
	}
	required, optional := s.cfg.Modules()
	for _, m := range required {
		if _, err := l.Deps.Closure(m); err != nil {
			return fail("modules", m, err, "this initramfs lacks %s for kernel %s: rebuild it with 'mklive initramfs' for this kernel", m, rel)
		}
	}
	want := required
	for _, m := range optional {
		if _, err := l.Deps.Closure(m); err == nil {
			want = append(want, m)
		}
	}
	var loaded []string
	l.Loaded = func(name string, took time.Duration) { loaded = append(loaded, name) }
	t0 := time.Now()
	if err := l.Load(want...); err != nil {
		return fail("modules", "", err, "a module did not load: its kernel message (dmesg) says why; check the initramfs was built for kernel %s", rel)
	}
	s.log.Printf("loaded %d modules in %v: %s", len(loaded), time.Since(t0).Round(time.Millisecond), strings.Join(loaded, " "))
	return nil
}

// sizeCOW resolves sandbox.cowsize against this machine's RAM.
func (s *sandbox) sizeCOW() error {
	mem, err := memTotal()
	if err != nil {
		return fail("cow", "/proc/meminfo", err, "")
	}
	s.state.COWBytes = s.cfg.COWSize.Resolve(mem) &^ (1<<12 - 1)
	if s.state.COWBytes < 1<<20 {
		return fail("cow", s.cfg.COW, fmt.Errorf("COW size %s of %s RAM is under 1 MiB", s.cfg.COWSize, config.FormatBytes(mem)),
			"give sandbox.cowsize= a larger size")
	}
	s.log.Printf("COW store: %s, %s (sandbox.cowsize=%s of %s RAM)", s.cfg.COW, config.FormatBytes(s.state.COWBytes), s.cfg.COWSize, config.FormatBytes(mem))
	return nil
}

// moduleParams collects MODULE.PARAM=VALUE from the kernel command line:
// modprobe would pass these on, and we stand in for modprobe.
func moduleParams(c config.Config) map[string]string {
	b, _ := os.ReadFile("/proc/cmdline")
	return config.ModuleParams(string(b))
}

func memTotal() (uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	return config.MemTotal(string(b))
}
