package kmod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Loader loads modules from one /lib/modules/VERSION directory. Each module
// is loaded once, after the modules it needs; independent chains load at the
// same time, so the CD's driver chain need not wait for device-mapper's.
//
// Soft dependencies (Deps.Soft, from modules.softdep) are loaded as modprobe
// does, best effort: a module's pre ones are loaded before it and its post
// ones started once it is in, and one that fails (crc32c_intel on a CPU
// without SSE4.2) fails nothing else. Such a failure is reported only for a
// module also asked for itself (Start, Wait, or needed by one that was).
type Loader struct {
	Dir    string            // /lib/modules/VERSION
	Deps   *Deps             // parsed Dir/modules.dep (+ modules.builtin, modules.softdep)
	Params map[string]string // module name -> parameter string for finit_module; see SetParams
	// Aliases is Dir/modules.alias, if there is one.
	Aliases []Alias
	// Loaded, if set, is called after each module loads, with the time
	// taken. It may be called from several goroutines at once.
	Loaded func(name string, took time.Duration)
	// Insert loads one module file with its parameter string; nil means
	// finit_module(2). It may be called from several goroutines at once.
	Insert func(file, params string) error
	// Live, if set, returns once module name is live in the kernel (its
	// init has returned) or done is closed, whichever comes first. A
	// module that needs name then loads at once: finit_module returns only
	// after every asynchronous probe of the system is over
	// (do_init_module's async_synchronize_full), so a library loaded while
	// a host adapter probes (cdrom during the ATA port reset) would hold
	// what needs it (sr_mod, whose driver must be there when the drive
	// appears) until that probe ends. nil: wait for the load to end.
	Live func(name string, done <-chan struct{})

	mu   sync.Mutex
	jobs map[string]*job
}

type job struct {
	done chan struct{}
	err  error
	// soft: started only as some module's soft dependency, so its
	// failure is no one's (under Loader.mu).
	soft bool
}

// NewLoader reads dir's modules.dep, and modules.builtin, modules.alias and
// modules.softdep if present (ReadIndex).
func NewLoader(dir string) (*Loader, error) {
	d, aliases, err := ReadIndex(dir)
	if err != nil {
		return nil, err
	}
	return &Loader{Dir: dir, Deps: d, Params: map[string]string{}, Aliases: aliases}, nil
}

// Start begins loading the named modules and their dependencies in the
// background and returns at once. A module missing from modules.dep is
// reported here, before anything of the set is loaded.
func (l *Loader) Start(names ...string) error {
	if _, err := l.Deps.Closure(names...); err != nil {
		return err
	}
	for _, n := range names {
		l.start(Name(n))
	}
	return nil
}

// Wait waits for the named modules (starting them if need be) and returns
// their failures.
func (l *Loader) Wait(names ...string) error {
	var errs []error
	for _, n := range names {
		j := l.start(Name(n))
		<-j.done
		errs = append(errs, j.err)
	}
	return errors.Join(errs...)
}

// Need waits until the named modules (starting them if need be) can be
// used: live in the kernel, with Live (a file system registered, a control
// device there), else loaded. It returns their failures. Unlike Wait it
// does not wait for the asynchronous probes of the whole system, which a
// module's load does (see Live): a step that mounts with isofs need not
// wait for a second drive's probe.
func (l *Loader) Need(names ...string) error {
	var errs []error
	for _, n := range names {
		errs = append(errs, l.usable(Name(n), l.start(Name(n))))
	}
	return errors.Join(errs...)
}

// WaitAll waits for every module started so far, and for the soft
// dependencies those start, and returns the failures of all but the soft
// dependencies.
func (l *Loader) WaitAll() error {
	waited := map[string]bool{}
	for {
		l.mu.Lock()
		var pending []*job
		for n, j := range l.jobs {
			if !waited[n] {
				waited[n] = true
				pending = append(pending, j)
			}
		}
		l.mu.Unlock()
		if len(pending) == 0 {
			break
		}
		for _, j := range pending {
			<-j.done
		}
	}
	return l.Failed()
}

// Failed returns the failures of the modules that have finished so far,
// without waiting; soft dependencies' failures are left out.
func (l *Loader) Failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.jobs))
	for n := range l.jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		j := l.jobs[n]
		if j.soft {
			continue
		}
		select {
		case <-j.done:
			errs = append(errs, j.err)
		default:
		}
	}
	return errors.Join(errs...)
}

// Pending returns, sorted, the modules whose load has started and not
// ended: waiting for the modules they need, or in finit_module (a driver's
// probe runs in it, and one that hangs never returns).
func (l *Loader) Pending() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n, j := range l.jobs {
		select {
		case <-j.done:
		default:
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Started reports whether a module's load has been started.
func (l *Loader) Started(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.jobs[Name(name)]
	return ok
}

// SetParams sets the parameter string a module will be loaded with. Set it
// before the module (or a module needing it) is started.
func (l *Loader) SetParams(name, params string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Params == nil {
		l.Params = map[string]string{}
	}
	l.Params[Name(name)] = params
}

// Param returns the parameter string a module is loaded with.
func (l *Loader) Param(name string) string { return l.params(Name(name)) }

func (l *Loader) params(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Params[name]
}

// StartBackground is Start at the lowest CPU priority (SCHED_IDLE): those
// modules load when the CPU would otherwise idle, such as while a host
// adapter's probe waits on its hardware, and never slow the modules on the
// way to the boot device. Dependencies already started keep their priority.
func (l *Loader) StartBackground(names ...string) error {
	if _, err := l.Deps.Closure(names...); err != nil {
		return err
	}
	for _, n := range names {
		l.startNice(Name(n), 19)
	}
	return nil
}

func (l *Loader) start(name string) *job { return l.startNice(name, 0) }

func (l *Loader) startNice(name string, nice int) *job { return l.startJob(name, nice, false) }

// startJob starts loading a module unless it has been started already. A
// job started as a soft dependency becomes an ordinary one when the module
// is asked for again, not softly.
func (l *Loader) startJob(name string, nice int, soft bool) *job {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jobs == nil {
		l.jobs = map[string]*job{}
	}
	if j, ok := l.jobs[name]; ok {
		if !soft {
			j.soft = false
		}
		return j
	}
	j := &job{done: make(chan struct{}), soft: soft}
	l.jobs[name] = j
	go func() {
		defer close(j.done)
		defer func() {
			// A bug here must not end the process: the loader runs in
			// PID 1. The module's waiters get it as the module's error.
			if r := recover(); r != nil {
				j.err = fmt.Errorf("module %s: internal error: %v", name, r)
			}
		}()
		if nice != 0 {
			// Scheduling is per thread on Linux. The thread is never
			// unlocked: it ends with this goroutine, so no other goroutine
			// inherits its priority.
			runtime.LockOSThread()
			IdleThread()
		}
		j.err = l.load(name, nice, soft)
	}()
	return j
}

// load loads one module: after its pre soft dependencies (whatever becomes
// of them) and the modules it needs, then starts its post soft
// dependencies. soft says the module is itself a soft dependency: what it
// needs is started as such too.
func (l *Loader) load(name string, nice int, soft bool) error {
	if l.Deps.Builtin[name] {
		return nil
	}
	// A module whose needs lead back to it would wait for itself: Wait and
	// Try start modules without Start's check.
	var cycle *CycleError
	if _, err := l.Deps.Closure(name); errors.As(err, &cycle) {
		return fmt.Errorf("module %s not loaded: %w", name, err)
	}
	sd := l.Deps.Soft[name]
	var pre, deps []*job
	for _, s := range sd.Pre {
		if !l.Deps.available(s) {
			continue // as Closure: it or what it needs is not here
		}
		j := l.startJob(s, nice, true)
		if !l.Deps.waitsFor(s, name) {
			pre = append(pre, j)
		}
	}
	for _, d := range l.Deps.Need[name] {
		deps = append(deps, l.startJob(d, nice, soft))
	}
	for _, j := range pre {
		<-j.done // best effort: a failed soft dependency fails nothing
	}
	for i, d := range deps {
		if l.usable(l.Deps.Need[name][i], d) != nil {
			return fmt.Errorf("module %s not loaded: a dependency failed", name)
		}
	}
	insert := l.Insert
	if insert == nil {
		insert = finit
	}
	start := time.Now()
	err := insert(filepath.Join(l.Dir, l.Deps.Path[name]), l.params(name))
	if err != nil {
		return fmt.Errorf("module %s: %w", name, err)
	}
	if l.Loaded != nil {
		l.Loaded(name, time.Since(start))
	}
	for _, s := range sd.Post {
		if l.Deps.available(s) {
			l.startJob(s, nice, true)
		}
	}
	return nil
}

// usable returns once module name, loaded by j, can be linked against: its
// load is over, or (with Live) its init has returned. It returns the load's
// error, nil for a live module: its load cannot fail any more.
func (l *Loader) usable(name string, j *job) error {
	select {
	case <-j.done:
		return j.err // over already: nothing to ask the kernel
	default:
	}
	if l.Live == nil {
		<-j.done
		return j.err
	}
	l.Live(name, j.done)
	select {
	case <-j.done:
		return j.err
	default:
		return nil
	}
}

func finit(file, params string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := 0
	if !strings.HasSuffix(file, ".ko") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(int(f.Fd()), params, flags)
	if errors.Is(err, unix.EEXIST) {
		return nil // already loaded
	}
	return err
}

// Release returns the running kernel's release (uname -r).
func Release() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// IdleThread puts the calling OS thread in SCHED_IDLE: it runs only when
// no normal thread wants the CPU, and a normal thread that wakes up (an I/O
// done) takes the CPU back at once, which nice 19 alone does not promise.
// Falls back to nice 19. Lock the goroutine to its thread first.
func IdleThread() {
	if unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_IDLE}, 0) != nil {
		_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
	}
}

// Try loads the named modules that this initramfs has, and waits for them,
// at best: as soft dependencies are, a failure (a CPU without the
// instructions a crypto module needs refuses it with ENODEV) is not a
// failure of the boot. A load TryBackground started is waited for.
func (l *Loader) Try(names ...string) {
	for _, n := range names {
		if n = Name(n); l.Deps.available(n) {
			<-l.startJob(n, 0, true).done
		}
	}
}

// TryBackground starts Try's loads at the lowest CPU priority and returns
// at once.
func (l *Loader) TryBackground(names ...string) {
	for _, n := range names {
		if n = Name(n); l.Deps.available(n) {
			l.startJob(n, 19, true)
		}
	}
}
