package kmod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	Params map[string]string // module name -> parameter string for finit_module
	// Loaded, if set, is called after each module loads, with the time taken.
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
	return &Loader{Dir: dir, Deps: d, Params: map[string]string{}}, nil
}

// Load loads the named modules and their dependencies, concurrently, and
// returns every failure. Built-in and already loaded modules are fine.
func (l *Loader) Load(names ...string) error {
	// Check the whole set first so a missing module is reported before
	// anything is half-loaded.
	if _, err := l.Deps.Closure(names...); err != nil {
		return err
	}
	var errs []error
	jobs := make([]*job, len(names))
	for i, n := range names {
		jobs[i] = l.start(Name(n))
	}
	for _, j := range jobs {
		<-j.done
		errs = append(errs, j.err)
	}
	return errors.Join(errs...)
}

func (l *Loader) start(name string) *job {
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
		j.err = l.load(name)
	}()
	return j
}

func (l *Loader) load(name string) error {
	if l.Deps.Builtin[name] {
		return nil
	}
	var deps []*job
	for _, d := range l.Deps.Need[name] {
		deps = append(deps, l.start(d))
	}
	for _, d := range deps {
		<-d.done
		if d.err != nil {
			return fmt.Errorf("module %s not loaded: a dependency failed", name)
		}
	}
	start := time.Now()
	err := finit(filepath.Join(l.Dir, l.Deps.Path[name]), l.Params[name])
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
