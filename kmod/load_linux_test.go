package kmod

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeInsert records the order modules are inserted in, takes a while for
// some and fails others, as finit_module would.
type fakeInsert struct {
	mu    sync.Mutex
	order []string
	slow  map[string]time.Duration
	fail  map[string]error
}

func (f *fakeInsert) insert(file, params string) error {
	name := Name(file)
	time.Sleep(f.slow[name])
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[name]; err != nil {
		return err
	}
	f.order = append(f.order, name)
	return nil
}

func (f *fakeInsert) loaded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

// softLoader is a Loader over softKernel's files, as NewLoader reads them
// from a modules directory.
func softLoader(t *testing.T, f *fakeInsert) *Loader {
	t.Helper()
	return filesLoader(t, map[string]string{"modules.dep": softKernelDep, "modules.alias": softKernelAlias, "modules.softdep": softKernelSoftdep}, f)
}

// filesLoader is a Loader over a modules directory holding files (name ->
// content), inserting with f.
func filesLoader(t *testing.T, files map[string]string, f *fakeInsert) *Loader {
	t.Helper()
	dir := t.TempDir()
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := NewLoader(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Insert = f.insert
	return l
}

func within(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: stuck", what)
		return nil
	}
}

// Pre soft dependencies go in before the module; one that fails (ENODEV:
// crc32c_intel on a CPU without SSE4.2) fails nothing.
func TestLoaderSoftdepPre(t *testing.T) {
	f := &fakeInsert{
		slow: map[string]time.Duration{"crc32c_generic": 30 * time.Millisecond, "crc32c_intel": 10 * time.Millisecond},
		fail: map[string]error{"crc32c_intel": unix.ENODEV},
	}
	l := softLoader(t, f)
	if err := l.Start("ext4"); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "Wait(ext4)", func() error { return l.Wait("ext4") }); err != nil {
		t.Fatalf("ext4 failed for its soft dependency: %v", err)
	}
	got := f.loaded()
	pos := map[string]int{}
	for i, m := range got {
		pos[m] = i
	}
	if _, ok := pos["crc32c_generic"]; !ok {
		t.Fatalf("the pre soft dependency crc32c_generic was not loaded: %v", got)
	}
	if pos["crc32c_generic"] > pos["jbd2"] || pos["crc32c_generic"] > pos["ext4"] {
		t.Errorf("crc32c_generic loaded after the modules wanting it first: %v", got)
	}
	if err := within(t, "WaitAll", l.WaitAll); err != nil {
		t.Errorf("WaitAll reports a soft dependency's failure: %v", err)
	}
	if err := l.Failed(); err != nil {
		t.Errorf("Failed reports a soft dependency's failure: %v", err)
	}
	if !l.Started("crc32c_intel") {
		t.Error("crc32c_intel was not tried")
	}
	// Asked for itself, its failure is reported.
	if err := l.Wait("crc32c_intel"); err == nil || !strings.Contains(err.Error(), "crc32c_intel") {
		t.Errorf("Wait(crc32c_intel) = %v", err)
	}
	if err := l.Failed(); err == nil {
		t.Error("Failed leaves out a module asked for")
	}
}

// Post soft dependencies start once the module is in, and WaitAll waits
// for them though they start after it was called.
func TestLoaderSoftdepPost(t *testing.T) {
	f := &fakeInsert{slow: map[string]time.Duration{"ipmi_msghandler": 50 * time.Millisecond}}
	l := softLoader(t, f)
	if err := l.Start("ipmi_msghandler"); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "WaitAll", l.WaitAll); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.loaded(), " "); got != "ipmi_msghandler ipmi_devintf" {
		t.Errorf("loaded %q, want ipmi_msghandler then its post soft dependency", got)
	}
}

// A loop of pre soft dependencies must not deadlock, and a soft dependency
// that cannot load (broken needs a missing module) fails nothing.
func TestLoaderSoftdepLoop(t *testing.T) {
	f := &fakeInsert{}
	l := softLoader(t, f)
	l.Deps.Soft["crc32c_generic"] = SoftDep{Module: "crc32c_generic", Pre: []string{"jbd2"}}
	l.Deps.Soft["crc32c_intel"] = SoftDep{Module: "crc32c_intel", Pre: []string{"ext4"}}
	if err := l.Start("ext4", "dm_mod"); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "WaitAll", l.WaitAll); err != nil {
		t.Fatal(err)
	}
	got := f.loaded()
	for _, m := range []string{"ext4", "jbd2", "crc32c_generic", "crc32c_intel", "dm_mod"} {
		if !slices.Contains(got, m) {
			t.Errorf("%s not loaded: %v", m, got)
		}
	}
	if l.Started("broken") || l.Started("gone") {
		t.Errorf("a soft dependency missing a module it needs was tried: %v", got)
	}
}

// The module a soft dependency needs is not its own: once asked for, its
// failure is reported.
func TestLoaderHardAfterSoft(t *testing.T) {
	f := &fakeInsert{fail: map[string]error{"ipmi_msghandler": unix.EINVAL}}
	l := softLoader(t, f)
	if err := l.Start("ipmi_devintf"); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "WaitAll", l.WaitAll); err == nil {
		t.Error("a needed module's failure was not reported")
	}
}

// A panic while loading a module (a bug) is that module's error: the
// loader runs in PID 1, which must not die of it, and its waiters must not
// wait forever.
func TestLoaderPanic(t *testing.T) {
	l := softLoader(t, &fakeInsert{})
	l.Insert = func(file, params string) error { panic("boom") }
	err := within(t, "Wait", func() error { return l.Wait("jbd2") })
	if err == nil || !strings.Contains(err.Error(), "internal error: boom") {
		t.Errorf("Wait after a panic = %v", err)
	}
}

// A dependency cycle fails the modules on it, at once: Start refuses it,
// and Wait (which starts modules without Start's check) does not hang.
func TestLoaderCycle(t *testing.T) {
	f := &fakeInsert{}
	l := filesLoader(t, map[string]string{"modules.dep": "a.ko: b.ko\nb.ko: a.ko\nc.ko: a.ko\nok.ko:\n"}, f)
	var ce *CycleError
	if err := l.Start("c"); !errors.As(err, &ce) {
		t.Errorf("Start(c) = %v, want the cycle", err)
	}
	err := within(t, "Wait on a cycle", func() error { return l.Wait("c", "ok") })
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "a needs b needs a") {
		t.Errorf("Wait(c, ok) = %v, want the cycle named", err)
	}
	if got := f.loaded(); !slices.Equal(got, []string{"ok"}) {
		t.Errorf("loaded %v, want only ok", got)
	}
}

// Pending names the loads under way (one in finit_module, one waiting for
// it), and none once they are over: what the init names when a wait ends
// with a driver's probe not over.
func TestLoaderPending(t *testing.T) {
	l := filesLoader(t, map[string]string{"modules.dep": "slow.ko:\nuser.ko: slow.ko\nquick.ko:\n"}, &fakeInsert{slow: map[string]time.Duration{"slow": 300 * time.Millisecond}})
	if err := l.Start("slow", "user", "quick"); err != nil {
		t.Fatal(err)
	}
	if err := l.Wait("quick"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.Pending(), " "); got != "slow user" {
		t.Errorf("Pending() = %q during the slow load, want \"slow user\"", got)
	}
	if err := within(t, "WaitAll", l.WaitAll); err != nil {
		t.Fatal(err)
	}
	if got := l.Pending(); len(got) != 0 {
		t.Errorf("Pending() = %v after WaitAll", got)
	}
}

// With Live, a module loads as soon as what it needs is live, while that
// one's finit_module still waits (the kernel holds it until every
// asynchronous probe is over): cdrom's load ends only once the ATA probe
// is done, but sr_mod must be in before the drive appears. Without Live,
// or with Live ignored, the load of cdrom below would never end.
func TestLoaderLiveBeforeLoadEnds(t *testing.T) {
	f := &fakeInsert{}
	l := filesLoader(t, map[string]string{"modules.dep": "cdrom.ko:\nsr_mod.ko: cdrom.ko\n"}, f)
	live := make(chan struct{})
	srIn := make(chan struct{})
	l.Insert = func(file, params string) error {
		switch Name(file) {
		case "cdrom":
			close(live) // its init has returned...
			<-srIn      // ...its load ends after the probe, here after sr_mod's
		case "sr_mod":
			close(srIn)
		}
		return f.insert(file, params)
	}
	var asked []string
	l.Live = func(name string, done <-chan struct{}) {
		asked = append(asked, name)
		select {
		case <-live:
		case <-done:
		}
	}
	if err := within(t, "Wait(sr_mod)", func() error { return l.Wait("sr_mod") }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"cdrom"}) {
		t.Errorf("Live asked for %v, want [cdrom]", asked)
	}
	if err := within(t, "WaitAll", l.WaitAll); err != nil {
		t.Fatal(err)
	}
}

// A dependency that fails is no one's to link against, Live or not: what
// needs it fails with it.
func TestLoaderLiveFailedDependency(t *testing.T) {
	f := &fakeInsert{fail: map[string]error{"cdrom": unix.ENOEXEC}}
	l := filesLoader(t, map[string]string{"modules.dep": "cdrom.ko:\nsr_mod.ko: cdrom.ko\n"}, f)
	l.Live = func(name string, done <-chan struct{}) { <-done }
	err := within(t, "Wait(sr_mod)", func() error { return l.Wait("sr_mod") })
	if err == nil || !strings.Contains(err.Error(), "dependency failed") {
		t.Errorf("Wait(sr_mod) = %v, want its dependency's failure", err)
	}
	if got := f.loaded(); len(got) != 0 {
		t.Errorf("loaded %v, want nothing", got)
	}
}

// Need returns once the module is live, while its load still waits for
// the system's probes: the CD search mounts with isofs while a second
// drive's probe goes on. It hangs without Live taken into account.
func TestLoaderNeedLive(t *testing.T) {
	f := &fakeInsert{}
	l := filesLoader(t, map[string]string{"modules.dep": "isofs.ko:\n"}, f)
	live, probed := make(chan struct{}), make(chan struct{})
	l.Insert = func(file, params string) error {
		close(live) // its init has returned; its load ends after the probes
		<-probed
		return f.insert(file, params)
	}
	l.Live = func(name string, done <-chan struct{}) {
		select {
		case <-live:
		case <-done:
		}
	}
	if err := within(t, "Need(isofs)", func() error { return l.Need("isofs") }); err != nil {
		t.Fatal(err)
	}
	close(probed)
	if err := within(t, "Wait(isofs)", func() error { return l.Wait("isofs") }); err != nil {
		t.Fatal(err)
	}
	// A module that fails is reported by Need as by Wait.
	f.fail = map[string]error{"bad": unix.ENOEXEC}
	l2 := filesLoader(t, map[string]string{"modules.dep": "bad.ko:\n"}, f)
	l2.Live = func(name string, done <-chan struct{}) { <-done }
	if err := within(t, "Need(bad)", func() error { return l2.Need("bad") }); err == nil {
		t.Error("Need(bad) = nil for a module that failed")
	}
}
