package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The device waits and a driver's probe that never ends: the drivers load
// in the background (modules), the waits for the CD or a disk give them
// their time, but not for ever.

// driverWait is how far the drivers are: ready is closed once they have all
// loaded; progress, if set, tells when the last module load ended.
type driverWait struct {
	ready    <-chan struct{}
	progress func() time.Time
	idle     time.Duration // the hang bound (below); 0: the wait's d
}

// waitDrivers is waitDevice that bounds the drivers' loading too: while
// they load, the wait gives up once w.idle has passed with no module load
// ending (since the wait's start, or the last one that ended): a probe
// that never ends must not make the wait endless, and slow drivers that
// load one after the other still get their time (whyMissing names the
// drivers still loading).
func waitDrivers(w driverWait, d time.Duration, ok func() (bool, error)) error {
	ev := openUevents() // before the first look: no event is missed
	defer ev.close()
	start := time.Now()
	var deadline time.Time // once the drivers are in
	for {
		done, err := ok()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if deadline.IsZero() {
			select {
			case <-w.ready:
				deadline = time.Now().Add(d)
			default:
				last := start
				if w.progress != nil && w.progress().After(last) {
					last = w.progress()
				}
				if idle := cmp.Or(w.idle, d); time.Since(last) > idle {
					return errTimeout
				}
			}
		} else if time.Now().After(deadline) {
			return errTimeout
		}
		ev.wait(recheck)
	}
}

// minDriverIdle is the least time with no module load ending that a wait
// takes for a hang: one controller's probe (port resets, a slow disk's
// spin-up) can take seconds where sandbox.wait is shorter.
const minDriverIdle = 10 * time.Second

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

func (m *modules) addDrivers(names []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drivers = append(m.drivers, names...)
}

// progress is when the last module load ended (the start before the first).
func (m *modules) progress() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastLoad.IsZero() {
		return m.start
	}
	return m.lastLoad
}

// pendingDrivers are the device drivers (what the device waits wait for),
// and the modules they need, whose load has not ended.
func (m *modules) pendingDrivers() []string {
	m.mu.Lock()
	chain, _ := m.l.Deps.Closure(m.drivers...)
	m.mu.Unlock()
	var out []string
	for _, n := range m.l.Pending() {
		if slices.Contains(chain, n) {
			out = append(out, n)
		}
	}
	return out
}

// hangHint is what to do about modules whose load does not end.
func hangHint(pending []string) string {
	return fmt.Sprintf("dmesg names the device whose probe hangs; keep its driver out with module_blacklist=%s on the kernel command line, or use another controller (a driver that is only slow: a longer sandbox.wait=)", strings.Join(pending, ","))
}

// chainBound is the longest the boot waits for the boot device's driver
// chain to be in the kernel (awaitChain) before it goes on regardless.
const chainBound = 2 * time.Second

// awaitChain holds the caller, PID 1's main thread, until the drivers of
// the devices found at start, and the modules they need, are in the
// kernel: each one's file read, checked and linked, its init running
// (/sys/module/NAME is there) or its load over. On one CPU (a small VM)
// that work is the boot's critical path up to the controller's probe,
// whose port resets then leave the CPU idle: the configuration, the
// helpers and the other modules take that idle time instead of sharing the
// CPU with the chain before it (bench boot: docs/bench.md). A load that
// never ends holds it chainBound at most; the device waits report it.
func (m *modules) awaitChain(bound time.Duration) {
	chain, err := m.l.Deps.Closure(m.first...)
	if err != nil {
		return
	}
	deadline := time.Now().Add(bound)
	for _, n := range chain {
		for !m.inKernel(n) && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// inKernel tells whether module n is built in, in the kernel (its init
// may still run: a driver's probe does), or no longer loading (failed).
func (m *modules) inKernel(n string) bool {
	if m.l.Deps.Builtin[n] || m.l.Started(n) && !slices.Contains(m.l.Pending(), n) {
		return true
	}
	_, err := os.Stat("/sys/module/" + n + "/initstate")
	return err == nil
}
