package main

import (
	"os"
	"slices"
	"strings"
	"time"
)

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
	// Woken by the kernel's uevent for each module's sysfs entry (added
	// just before its init runs), not by a poll: on one CPU a poll's every
	// wake-up is taken from the loads it waits for.
	ev := openUevents()
	defer ev.close()
	deadline := time.Now().Add(bound)
	for _, n := range chain {
		for !m.inKernel(n) && time.Now().Before(deadline) {
			ev.wait(recheck)
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

// moduleLive is the loader's Live: it returns once module n's init has
// returned (/sys/module/n/initstate says live; the kernel announces the
// module by a uevent right after) or done is closed (its load is over, or
// failed). Woken by uevents, as awaitChain, with recheck as the bound for a
// load that fails without one.
func moduleLive(n string, done <-chan struct{}) {
	ev := openUevents() // before the first look: no announcement is missed
	defer ev.close()
	for {
		select {
		case <-done:
			return
		default:
		}
		if b, err := os.ReadFile("/sys/module/" + n + "/initstate"); err == nil && strings.TrimSpace(string(b)) == "live" {
			return
		}
		ev.wait(recheck)
	}
}
