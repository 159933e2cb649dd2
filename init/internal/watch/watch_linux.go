// Package watch is the COW watcher, "sandbox-init watch NAME EVERY
// [CONSOLES]": PID 1's child that lives on after switch_root, warns on
// every console as the COW store fills, reports the snapshot's death and
// dm-verity's refusals, keeps usage.json current and, on an NBD boot,
// reconnects a lost connection.
package watch

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/dm"
	"github.com/sandbox-init/sandbox-init/init/internal/diag"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/state"
	"golang.org/x/sys/unix"
)

// The watcher is a child of PID 1, started as soon as the configuration is
// read, at the lowest priority: its start-up (a Go runtime's) then runs while
// the drivers probe, not on the boot's path. It waits for the snapshot and
// lives on after switch_root. It runs the initramfs's binary, which stays in
// memory while it runs (its file is deleted with the rest of the initramfs,
// nothing is left in the new root), and it reaches the kernel through
// directories opened before the switch, whose mounts move into the new root
// with them: fd 3 /dev, 4 /proc, 5 /run/sandbox. It shows as
// "@sandbox-init watch" in ps (Argv0).
const (
	FdDev = 3 + iota
	FdProc
	FdRunDir
)

// Argv0 is the watcher's argv[0]. systemd-shutdown's last killing spree
// spares the processes of root whose argv[0] begins with '@', the storage
// daemons an initramfs started for the root (systemd's "Storage Daemons for
// the Root File System"): the watcher is one on an NBD root (it reconnects
// the device the root is read from, and its binary is the initramfs's, not
// the root's), so it keeps doing so until /run/initramfs/shutdown takes the
// sandbox down; on any other boot it goes quietly once the snapshot is
// removed. PID 1 dispatches on argv[1] ("watch"), never on argv[0].
const Argv0 = "@sandbox-init"

// NBDNote is the file in /run/sandbox where PID 1 leaves the NBD
// connection for the watcher, as soon as the device exists: the watcher
// must be able to reconnect before the boot is over (state.json comes at
// its end). It is internal: state.json's nbd is the contract.
const NBDNote = "nbd.json"

// thresholds are the fill levels, in percent, that get a warning.
var thresholds = []float64{80, 90, 95}

// Main is "sandbox-init watch NAME EVERY [CONSOLES]": CONSOLES are the
// active consoles, "tty0,ttyS0", that its warnings must reach.
func Main(args []string) int {
	if len(args) != 2 && len(args) != 3 {
		return watchUsage()
	}
	every, err := time.ParseDuration(args[1])
	if err != nil || every <= 0 {
		return watchUsage()
	}
	// The watcher logs as PID 1 does, with the same code: to kmsg at the
	// line's level, and straight to every active console when the kernel
	// will not print it. PID 1 passes the consoles: the watcher has no /sys.
	var consoles []string
	if len(args) > 2 {
		consoles = klog.ParseActiveConsoles(args[2])
	}
	log := klog.New(os.Stdout)
	log.Attach(FdDev, FdProc, consoles)
	log.LearnClock()
	w := &watcher{name: args[0], every: every, say: log.Logf}
	klog.GoSafe(log, "the NBD reconnect", func() { keepNBD(log.Logf) }) // sandbox.url=nbd://: a lost connection
	for {
		sleep, done := w.look()
		if done {
			return w.exit
		}
		time.Sleep(sleep)
	}
}

func watchUsage() int {
	fmt.Fprintln(os.Stderr, "usage: sandbox-init watch NAME INTERVAL [CONSOLES]\n(PID 1 starts it with fds 3, 4, 5 open on /dev, /proc, /run/sandbox; not for use by hand)")
	return 2
}

// watcher is the COW watcher's state between two looks.
type watcher struct {
	name  string
	every time.Duration
	say   func(level int, format string, args ...any)
	ctl   *dm.Client // device-mapper's node appears when dm-mod loads
	seen  bool       // the snapshot has existed
	full  bool       // the overflow was reported
	next  int        // the next warning level, an index in thresholds
	fill  fillRate
	// storeFull and cause say why the snapshot was invalidated
	// (diag.InvalidCause).
	storeFull bool
	cause     string
	exit      int // the exit status once done
	vrf       verityWatch
}

// look reads the snapshot's status once, writes usage.json, says what
// needs saying, and returns how long to sleep, or done.
func (w *watcher) look() (sleep time.Duration, done bool) {
	if w.ctl == nil {
		fd, err := unix.Openat(FdDev, "mapper/control", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return w.every, false
		}
		w.ctl = dm.NewClient(os.NewFile(uintptr(fd), "control"))
	}
	ts, err := w.ctl.Status(w.name)
	if errors.Is(err, unix.ENXIO) {
		// Not made yet; or removed, and nothing is left to watch.
		return w.every, w.seen
	}
	if err != nil || len(ts) != 1 {
		return w.every, false
	}
	if !w.seen {
		// The boot is past its slow part: leave SCHED_IDLE (started so
		// to keep the boot fast), or a busy writer, which is what fills
		// the store, would starve the watcher.
		normalPriority()
		w.seen = true
	}
	st, err := dm.ParseSnapshotStatus(ts[0].Params)
	if err != nil {
		return w.every, false
	}
	now := time.Now()
	w.vrf.look(w.ctl, w.name, w.say)
	if st.Invalid {
		w.storeFull, w.cause = diag.InvalidCause(diag.ReadKmsgAt(FdDev, "kmsg"))
	}
	writeUsage(state.Usage{InvalidCause: w.cause, UsedSectors: st.Used, TotalSectors: st.Total, MetadataSectors: st.Metadata, Percent: st.Percent(),
		Invalid: st.Invalid, Overflow: st.Overflow, Uptime: float64(klog.Uptime().Milliseconds()) / 1000,
		VerityCorrupted: w.vrf.corrupted, VerityBlocks: w.vrf.blocks})
	switch {
	case st.Invalid:
		w.sayInvalid()
		w.exit = 1
		return 0, true
	case st.Overflow:
		if !w.full {
			w.say(klog.LevelFail, "ALERT: the COW store is FULL: the sandbox %s refuses new writes (they fail with an I/O error); "+
				"what was written and the base still read fine. Save your work to another disk, then power off; "+
				"give sandbox.cowsize= more room next time.", w.name)
			w.full, w.next = true, len(thresholds) // the levels below full are moot now
		}
		return w.every, false
	}
	for w.next < len(thresholds) && st.Percent() >= thresholds[w.next] {
		w.say(klog.LevelWarn, "WARNING: COW store %.0f%% full (%s of %s): when it is full, writes to / fail; save your work outside it",
			thresholds[w.next], config.HumanBytes(st.Used*512), config.HumanBytes(st.Total*512))
		w.next++
	}
	level := 100.0
	if w.next < len(thresholds) {
		level = thresholds[w.next]
	}
	return nextLook(w.every, st.Used, st.Total, w.fill.add(now, st.Used), level), false
}

// sayInvalid reports the snapshot's death and its cause: a full N store,
// or a chunk that could not be copied because its read from the base
// failed (a damaged medium).
func (w *watcher) sayInvalid() {
	if w.storeFull || w.cause == "" { // "": the log lost the reason; a full store is the likely one
		w.say(klog.LevelFail, "ALERT: the COW store is full and the snapshot %s is INVALID: every read and write of / now fails. "+
			"The base image is untouched. Reboot to start over; give sandbox.cowsize= more room next time "+
			"(sandbox.store=PO, the default, keeps a full sandbox readable).", w.name)
		return
	}
	w.say(klog.LevelFail, "ALERT: the snapshot %s is INVALID: the kernel could not read the base image to copy a chunk before a write (%s), "+
		"and a failed copy invalidates the whole snapshot: every read and write of / now fails. The medium is damaged; the base image is untouched. "+
		"Reboot, and make the medium again from the ISO (sandbox.chunk=auto, the default, keeps a damaged block from invalidating the sandbox).", w.name, w.cause)
}

// normalPriority puts every thread of the watcher back in the normal
// scheduling class: SCHED_IDLE is per thread, and each of the Go runtime's
// threads inherited it.
func normalPriority() {
	fd, err := unix.Openat(FdProc, "self/task", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	dir := os.NewFile(uintptr(fd), "task")
	defer dir.Close()
	tids, _ := dir.Readdirnames(-1)
	for _, t := range tids {
		if tid, err := strconv.Atoi(t); err == nil {
			_ = unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}, 0)
		}
	}
}

// fillRate measures how fast the COW store fills, in sectors a second, over
// the last second or more of looks: the store grows in bursts (exceptions
// are allocated as writes reach the device), so two close looks can show
// no growth while the writer is at full speed.
type fillRate struct {
	t    []time.Time
	used []uint64
}

// add records a look and returns the rate.
func (f *fillRate) add(t time.Time, used uint64) float64 {
	f.t, f.used = append(f.t, t), append(f.used, used)
	// Keep the newest look older than a second, and the ones after it.
	for len(f.t) > 2 && t.Sub(f.t[1]) >= time.Second {
		f.t, f.used = f.t[1:], f.used[1:]
	}
	dt := t.Sub(f.t[0]).Seconds()
	if dt <= 0 || used <= f.used[0] {
		return 0
	}
	return float64(used-f.used[0]) / dt
}

// nextLook is how long the watcher sleeps before it looks again: its
// interval, or less when the store fills fast enough to reach the next
// warning level (level, in percent) sooner, so a fast writer cannot jump
// past 90% and 95% between two looks: a third of the time the current rate
// (sectors a second) needs to get there, at least 10 ms.
func nextLook(every time.Duration, used, total uint64, rate, level float64) time.Duration {
	const least = 10 * time.Millisecond
	if rate <= 0 || total == 0 {
		return every
	}
	target := level / 100 * float64(total)
	if float64(used) >= target {
		return least
	}
	d := time.Duration((target - float64(used)) / rate / 3 * float64(time.Second))
	return max(least, min(every, d))
}

// writeUsage replaces usage.json atomically, so readers never see half.
func writeUsage(u state.Usage) {
	b := u.JSON()
	tmp := "usage.json.tmp"
	fd, err := unix.Openat(FdRunDir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return
	}
	_, err = unix.Write(fd, append(b, '\n'))
	unix.Close(fd)
	if err == nil {
		_ = unix.Renameat(FdRunDir, tmp, FdRunDir, "usage.json")
	}
}
