package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"github.com/sandbox-init/sandbox-init/state"
)

// What every step shares: the boot (sandbox), the step, and the waits for
// modules and drivers that steps make before they use a device. This file
// uses no step, so the step files depend on it and not on each other.

// newRoot is where the snapshot is mounted before it becomes /.
const newRoot = "/newroot"

// step is one named, timed part of the boot. Its name is the phase a
// failure is reported in.
type step struct {
	name string
	run  func(s *sandbox) error
}

// sandbox is what lives for the whole boot, which every step may use: the
// configuration, the log, state.json's facts as the steps find them, the
// fds held until device-mapper holds the devices, and the background work
// (modules, helpers). What one step hands the next is not kept here.
type sandbox struct {
	cfg   config.Config
	log   *klog.Logger
	state state.State
	hold  []interface{ Close() error } // fds kept open until DM holds the devices
	mods  *modules                     // modules loading in the background
	// driversErr is a startDrivers failure, reported by the modules step
	// (under the configured sandbox.onfail, which is not read yet then).
	driversErr error
	helpers    chan error // the helpers' start, once it is over
}

// driversReady is closed once every driver that could bring a disk or CD
// has loaded: device waits count their timeout from there.
func (s *sandbox) driversReady() <-chan struct{} {
	if s.mods == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.mods.ready
}

// need waits for modules a step uses.
func (s *sandbox) need(names ...string) error {
	if s.mods == nil {
		return nil
	}
	var want []string
	for _, n := range names {
		if slices.Contains(s.mods.required, kmod.Name(n)) {
			want = append(want, n)
		}
	}
	if err := s.mods.l.Need(want...); err != nil {
		return &bootError{Device: strings.Join(names, " "), Err: err, Hint: fmt.Sprintf("a module did not load: dmesg says why; was the initramfs built for kernel %s?", s.mods.rel)}
	}
	return nil
}

// fsModule makes sure the kernel can mount fstype, loading the module that
// provides it from the initramfs by its fs-TYPE alias, as the kernel's own
// request_module would through modprobe, which does not run here. It
// returns the modules it loaded, for the messages.
func (s *sandbox) fsModule(fstype string) ([]string, error) {
	if mountutil.KernelHasFS(fstype) {
		return nil, nil
	}
	var mods []string
	if s.mods != nil {
		mods = kmod.Match(s.mods.l.Aliases, "fs-"+fstype)
	}
	if len(mods) == 0 {
		return nil, errNoFSModule
	}
	if err := s.mods.l.Need(mods...); err != nil {
		return mods, err
	}
	if !mountutil.KernelHasFS(fstype) {
		return mods, errFSStillAbsent
	}
	return mods, nil
}

// loadFS is fsModule for the root image on dev, with what to do about it.
func (s *sandbox) loadFS(dev, fstype string) error {
	mods, err := s.fsModule(fstype)
	rel, _ := kmod.Release()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoFSModule):
		return &bootError{Device: dev, Err: fmt.Errorf("the root image holds %s, which kernel %s cannot mount: this initramfs has no %s module for it", fstype, rel, fstype), Hint: fmt.Sprintf("rebuild the initramfs for this kernel with 'mklive initramfs -kernel TREE -modules %s' (TREE: the kernel package unpacked with dpkg -x, or / on the system that runs it), or boot a kernel with %s built in", fstype, fstype)}
	case errors.Is(err, errFSStillAbsent):
		return &bootError{Device: dev, Err: fmt.Errorf("module %s loaded, but kernel %s still lists no %s file system", strings.Join(mods, " "), rel, fstype), Hint: "name the file system with sandbox.fstype= (cat /proc/filesystems in the rescue shell lists what there is)"}
	}
	return &bootError{Device: dev, Err: err, Hint: fmt.Sprintf("the %s module did not load: dmesg says why; was the initramfs built for kernel %s?", strings.Join(mods, " "), rel)}
}

// Why fsModule could not give the kernel a file system.
var (
	errNoFSModule    = errors.New("this initramfs has no module for it")
	errFSStillAbsent = errors.New("its module loaded, but the kernel still lists no such file system")
)

// driverIdle is how long the waits give drivers that still load, with none
// ending, before they name them: sandbox.wait, and minDriverIdle at least.
func (s *sandbox) driverIdle() time.Duration { return max(s.cfg.Wait, minDriverIdle) }

// driverWait is driversReady with the modules' progress, for the waits
// that a driver's probe that never ends must not hold for ever.
func (s *sandbox) driverWait() driverWait {
	if s.mods == nil {
		return driverWait{ready: s.driversReady()}
	}
	return driverWait{ready: s.mods.ready, progress: s.mods.progress, idle: s.driverIdle()}
}

// whyMissing adds to a "did not appear" error what the machine's storage
// hardware tells: the drivers at work, the devices no driver took, and
// drivers that failed to load. Devices without a driver get the hint.
func (s *sandbox) whyMissing(err error, hint string) (error, string) {
	working, missing := hardwareReport(storageHardware("/sys"))
	errs := []error{err, errors.New(working)}
	var pending []string
	if s.mods != nil {
		pending = s.mods.pendingDrivers()
	}
	switch {
	case len(pending) > 0:
		// A controller whose driver still loads has no driver bound yet:
		// it is not one the initramfs lacks.
		errs = append(errs, fmt.Errorf("drivers still loading, none done for %v: %s (a probe that never ends?)",
			time.Since(s.mods.progress()).Round(time.Millisecond), strings.Join(pending, " ")))
		hint = hangHint(pending)
	case missing != "":
		errs = append(errs, errors.New(missing))
		rel, _ := kmod.Release()
		hint = missingDriverHint(rel)
	}
	if s.mods != nil {
		if merr := s.mods.l.Failed(); merr != nil {
			errs = append(errs, merr) // a driver that failed explains a missing drive
		}
	}
	return errors.Join(errs...), hint
}

// cdDir is where the CD is mounted in the initramfs; it moves under the new
// root later.
const cdDir = "/cd"
