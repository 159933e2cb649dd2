package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/kmod"
	"golang.org/x/sys/unix"
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

// modules is the module loading of one boot. Loading runs in the background
// from the first step on; each later step waits only for what it uses (the
// CD search for isofs and loop, the snapshot for dm-snapshot), so the CD's
// drivers probe while the rest loads.
type modules struct {
	l        *kmod.Loader
	rel      string
	start    time.Time
	first    []string      // the drivers of the devices found at start
	hw       []string      // every driver the initramfs has for a device found by modalias
	required []string      // what the configuration needs
	hwDone   chan struct{} // the hardware drivers' passes are over
	ready    chan struct{} // hwDone, and the class drivers (sr_mod, sd_mod) loaded

	mu       sync.Mutex
	loaded   []string
	lastLoad time.Time // when the last module load ended
	drivers  []string  // the device drivers started: what ready waits for
}

// followers are the drivers (config.Followers) of the controllers whose
// drivers were started, that this initramfs holds.
func (m *modules) followers() []string {
	var out []string
	for _, hw := range m.hw {
		if !m.l.Started(hw) {
			continue
		}
		for _, f := range config.Followers(hw) {
			if _, err := m.l.Deps.Closure(f); err == nil && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// probe returns the candidate drivers that a present device asks for, by
// matching the modalias of each PCI and virtio device against
// modules.alias, as udev and modprobe would.
func (m *modules) probe(candidates []string) []string {
	var out []string
	for _, bus := range []string{"pci", "virtio"} {
		devs, _ := filepath.Glob("/sys/bus/" + bus + "/devices/*/modalias")
		for _, d := range devs {
			b, err := os.ReadFile(d)
			if err != nil {
				continue
			}
			for _, mod := range kmod.Match(m.l.Aliases, strings.TrimSpace(string(b))) {
				if slices.Contains(candidates, mod) && !slices.Contains(out, mod) {
					out = append(out, mod)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// probeMore follows drivers that reveal more devices (virtio_pci brings
// virtio devices, which want virtio_scsi or virtio_blk).
func (m *modules) probeMore(candidates, started []string) {
	for pass := 0; pass < 3 && len(started) > 0; pass++ {
		_ = m.l.Wait(started...)
		var next []string
		for _, mod := range m.probe(candidates) {
			if !m.l.Started(mod) {
				next = append(next, mod)
			}
		}
		m.addDrivers(next)
		if m.l.Start(next...) != nil {
			return
		}
		started = next
	}
}

// isBlock reports whether dev is a block device that can be opened: the
// node can appear (devtmpfs) before the disk answers (ENXIO).
func isBlock(dev string) bool {
	var st unix.Stat_t
	if unix.Stat(dev, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return false
	}
	fd, err := unix.Open(dev, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

var errTimeout = errors.New("timed out")

// recheck bounds the time between two looks when no uevent comes: a CD
// drive's disc may become readable without one.
const recheck = 25 * time.Millisecond

// waitDevice calls ok until it says true: at once, whenever the kernel
// announces a device (uevents), and every recheck. It gives up when d has
// passed since the drivers finished loading (ready): a device cannot appear
// before its driver, and the drivers load while we already look.
func waitDevice(ready <-chan struct{}, d time.Duration, ok func() (bool, error)) error {
	return waitDrivers(driverWait{ready: ready}, d, ok)
}
