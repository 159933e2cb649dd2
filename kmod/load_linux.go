package kmod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Loader loads modules from one /lib/modules/VERSION directory. Each module
// is loaded once, after the modules it needs; independent chains load at the
// same time, so the CD's driver chain need not wait for device-mapper's.
type Loader struct {
	Dir    string            // /lib/modules/VERSION
	Deps   *Deps             // parsed Dir/modules.dep (+ modules.builtin)
	Params map[string]string // module name -> parameter string for finit_module; see SetParams
	// Aliases is Dir/modules.alias, if there is one.
	Aliases []Alias
	// Loaded, if set, is called after each module loads, with the time
	// taken. It may be called from several goroutines at once.
	Loaded func(name string, took time.Duration)

	mu   sync.Mutex
	jobs map[string]*job
}

type job struct {
	done chan struct{}
	err  error
}

// NewLoader reads dir's modules.dep and modules.builtin (if present).
func NewLoader(dir string) (*Loader, error) {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("modules.dep: %w", err)
	}
	defer f.Close()
	d, err := ParseDep(f)
	if err != nil {
		return nil, err
	}
	if b, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		defer b.Close()
		if err := d.ParseBuiltin(b); err != nil {
			return nil, err
		}
	}
	l := &Loader{Dir: dir, Deps: d, Params: map[string]string{}}
	if a, err := os.Open(filepath.Join(dir, "modules.alias")); err == nil {
		defer a.Close()
		if l.Aliases, err = ParseAlias(a); err != nil {
			return nil, err
		}
	}
	return l, nil
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

// WaitAll waits for every module started so far.
func (l *Loader) WaitAll() error {
	l.mu.Lock()
	names := make([]string, 0, len(l.jobs))
	for n := range l.jobs {
		names = append(names, n)
	}
	l.mu.Unlock()
	return l.Wait(names...)
}

// Failed returns the failures of the modules that have finished so far,
// without waiting.
func (l *Loader) Failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, j := range l.jobs {
		select {
		case <-j.done:
			errs = append(errs, j.err)
		default:
		}
	}
	return errors.Join(errs...)
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

func (l *Loader) startNice(name string, nice int) *job {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jobs == nil {
		l.jobs = map[string]*job{}
	}
	if j, ok := l.jobs[name]; ok {
		return j
	}
	j := &job{done: make(chan struct{})}
	l.jobs[name] = j
	go func() {
		defer close(j.done)
		if nice != 0 {
			// Scheduling is per thread on Linux. The thread is never
			// unlocked: it ends with this goroutine, so no other goroutine
			// inherits its priority.
			runtime.LockOSThread()
			IdleThread()
		}
		j.err = l.load(name, nice)
	}()
	return j
}

func (l *Loader) load(name string, nice int) error {
	if l.Deps.Builtin[name] {
		return nil
	}
	var deps []*job
	for _, d := range l.Deps.Need[name] {
		deps = append(deps, l.startNice(d, nice))
	}
	for _, d := range deps {
		<-d.done
		if d.err != nil {
			return fmt.Errorf("module %s not loaded: a dependency failed", name)
		}
	}
	start := time.Now()
	err := finit(filepath.Join(l.Dir, l.Deps.Path[name]), l.params(name))
	if err != nil {
		return fmt.Errorf("module %s: %w", name, err)
	}
	if l.Loaded != nil {
		l.Loaded(name, time.Since(start))
	}
	return nil
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
