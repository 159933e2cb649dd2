package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/sandbox-init/sandbox-init/modpolicy"
)

// startDrivers starts loading the drivers of the devices this machine has
// (host adapters: the way to the CD or disk) before anything else, the
// configuration included: every configuration needs them, and their probes
// are the longest wait of the boot. A problem is kept for the modules step
// to report, under the failure action the configuration (read next) asks
// for.
func startDrivers(s *sandbox) error {
	s.driversErr = startHardwareDrivers(s)
	return nil
}

func startHardwareDrivers(s *sandbox) error {
	rel, err := kmod.Release()
	if err != nil {
		return &bootError{Err: err}
	}
	dir := filepath.Join("/lib/modules", rel)
	l, err := kmod.NewLoader(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a kernel with everything built in needs no modules (loadModules says so)
	}
	if err != nil {
		return &bootError{Device: dir, Err: err, Hint: "the initramfs's modules.dep is broken: rebuild the initramfs"}
	}
	m := &modules{l: l, rel: rel, start: time.Now(), hwDone: make(chan struct{}), ready: make(chan struct{})}
	l.Loaded = func(name string, took time.Duration) {
		m.mu.Lock()
		m.loaded = append(m.loaded, name)
		m.lastLoad = time.Now()
		m.mu.Unlock()
	}
	l.Params = moduleParams()
	l.Live = moduleLive // cdrom's load ends after the ATA probe; sr_mod must not wait for it
	var hw []string     // every hardware driver of the initramfs
	for _, a := range l.Aliases {
		if !modpolicy.IsClassDriver(a.Module) && !slices.Contains(hw, a.Module) {
			hw = append(hw, a.Module)
		}
	}
	m.hw = hw
	// At normal priority; all else loads at the lowest (loadModules), so
	// on one CPU it takes only the time these probes spend waiting on
	// hardware (ATA port resets), as a hand-ordered insmod list would.
	m.first = m.probe(hw)
	m.addDrivers(m.first)
	if err := l.Start(m.first...); err != nil {
		return &bootError{Err: err}
	}
	klog.GoSafe(s.log, "the driver probe", func() {
		defer close(m.hwDone)
		m.probeMore(hw, m.first)
	})
	s.mods = m
	m.awaitChain(chainBound)
	return nil
}

// loadModules starts what the configuration needs: loop, isofs, brd or
// zram, device-mapper, in the background, and the class drivers (sr_mod,
// sd_mod) once the host adapters' chains are in.
func loadModules(s *sandbox) error {
	if s.driversErr != nil {
		return s.driversErr
	}
	m := s.mods
	if m == nil {
		// Said here, not in the drivers step: that one runs before the
		// log reaches the kernel's log and every console.
		rel, _ := kmod.Release()
		s.log.Printf("no /lib/modules/%s/modules.dep: assuming the drivers are built in", rel)
		return nil
	}
	l := m.l
	if s.cfg.COW == config.COWRAM {
		// rd_size is sandbox.cowsize's: later parameters win in the
		// kernel's parser, so ours comes last. One RAM disk unless the
		// command line asks for more (brd.rd_nr=).
		p := l.Param("brd")
		if !strings.Contains(" "+p, " rd_nr=") {
			p += " rd_nr=1"
		}
		l.SetParams("brd", strings.TrimSpace(p+fmt.Sprintf(" rd_size=%d", s.state.COWBytes>>10)))
	}
	required, optional := modpolicy.For(s.cfg)
	for _, mod := range required {
		if _, err := l.Deps.Closure(mod); err != nil {
			return &bootError{Device: mod, Err: err, Hint: fmt.Sprintf("this initramfs lacks %s for kernel %s: rebuild it with 'mklive initramfs' for this kernel", mod, m.rel)}
		}
	}
	var class, fs []string
	for _, mod := range optional {
		if _, err := l.Deps.Closure(mod); err != nil {
			continue // not in this initramfs: the machine may not need it
		}
		switch {
		case mod == modpolicy.SHA256Accel:
			// At best, and only where the CPU can run it: below.
		case modpolicy.IsClassDriver(mod):
			class = append(class, mod)
		case slices.Contains(modpolicy.RootFS, mod):
			fs = append(fs, mod) // most likely the root's: load it ahead
		case len(l.Aliases) == 0:
			required = append(required, mod) // no aliases to choose by: take all
		}
	}
	for _, r := range required {
		m.required = append(m.required, kmod.Name(r))
	}
	// The rest waits until the adapters' chains are in (their own loads
	// and the devices they create would slow those chains), then loads
	// at the lowest priority during the adapters' probes; a step that
	// needs a module before then starts it at once (need). The class
	// drivers (sr_mod) are on the way to the CD: normal priority.
	klog.GoSafe(s.log, "the module start", func() {
		for _, f := range m.first {
			_ = l.Need(l.Deps.Need[f]...)
		}
		m.addDrivers(class)
		_ = l.Start(class...)
		_ = l.StartBackground(required...)
		_ = l.StartBackground(fs...)
		if s.cfg.Verity != "" && cpuHasSHA256Accel(s) {
			l.TryBackground(modpolicy.SHA256Accel) // before the verity target is made
		}
		if uefiBoot() {
			l.TryBackground("efivarfs") // for the bootchain step, off the boot's path
		}
	})
	klog.GoSafe(s.log, "the driver wait", func() {
		defer close(m.ready) // device waits count from here, even after a bug
		<-m.hwDone
		// USB sticks and SD cards appear behind their controller only
		// once its driver runs: their drivers follow the controller's.
		follow := m.followers()
		m.addDrivers(follow)
		_ = l.Start(follow...)
		_ = l.Wait(append(class, follow...)...)
	})
	return nil
}

// finishModules waits for every module still loading, and logs them.
func finishModules(s *sandbox) error {
	m := s.mods
	if m == nil {
		return nil
	}
	all := make(chan error, 1)
	klog.GoSafe(s.log, "the module wait", func() {
		<-m.hwDone
		all <- m.l.WaitAll()
	})
	var err error
	for done := false; !done; {
		select {
		case err = <-all:
			done = true
		case <-time.After(recheck):
			// A probe that never ends would hold the boot for ever (and
			// the exec of the real init after it): sandbox.wait with no
			// module load ending bounds it.
			if idle := time.Since(m.progress()); idle > s.driverIdle() {
				p := m.l.Pending()
				return &bootError{Device: strings.Join(p, " "), Err: fmt.Errorf("modules still loading, none done for %v (sandbox.wait, %v at least)", idle.Round(time.Millisecond), minDriverIdle), Hint: hangHint(p)}
			}
		}
	}
	if err != nil {
		return &bootError{Err: err, Hint: fmt.Sprintf("a module did not load: dmesg says why; was the initramfs built for kernel %s?", m.rel)}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s.log.Printf("%d modules loaded in the background, done %v after the first: %s", len(m.loaded), time.Since(m.start).Round(time.Millisecond), strings.Join(m.loaded, " "))
	return nil
}

// sizeCOW resolves sandbox.cowsize against this machine's RAM, for a RAM
// COW store (brd's rd_size, zram's disksize); a disk has its own size.
func sizeCOW(s *sandbox) error {
	if !s.cfg.COW.InRAM() {
		return nil
	}
	mem, err := memTotal()
	if err != nil {
		return &bootError{Device: "/proc/meminfo", Err: err}
	}
	size, why := capCOWSize(s.cfg.COW, s.cfg.COWSize.Resolve(mem), mem)
	if why != "" {
		s.log.Warnf("WARNING: %s", why)
	}
	s.state.COWBytes = size &^ (1<<12 - 1)
	if s.state.COWBytes < 1<<20 {
		return &bootError{Device: s.cfg.COW.String(), Err: fmt.Errorf("COW size %s of %s RAM is under 1 MiB", s.cfg.COWSize, config.HumanBytes(mem)), Hint: "give sandbox.cowsize= a larger size"}
	}
	s.log.Printf("COW store: %s, %s (sandbox.cowsize=%s of %s RAM)", s.cfg.COW, config.HumanBytes(s.state.COWBytes), s.cfg.COWSize, config.HumanBytes(mem))
	return nil
}

// moduleParams collects MODULE.PARAM=VALUE from the kernel command line:
// modprobe would pass these on, and we stand in for modprobe.
func moduleParams() map[string]string {
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
