package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/dm"
	"github.com/sandbox-init/sandbox-init/kmod"
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
// "sandbox-init watch" in ps.
const (
	fdDev = 3 + iota
	fdProc
	fdRunDir
)

// usagePath is where the watcher keeps the COW store's use for the booted
// system, beside state.json.
const usagePath = "/run/sandbox/usage.json"

// thresholds are the fill levels, in percent, that get a warning.
var thresholds = []float64{80, 90, 95}

// startHelpers installs /run/initramfs/shutdown and spawns the watcher
// from it, on a SCHED_IDLE thread: the copy, the fork and the exec run only
// when the CPU is free, and the child inherits the priority from its first
// instruction. The step returns at once; awaitHelpers collects the outcome.
func (s *sandbox) startHelpers() error {
	if err := os.MkdirAll("/run/sandbox", 0o755); err != nil {
		return &bootError{Device: "/run/sandbox", Err: err}
	}
	var files []*os.File
	if s.cfg.Watch != 0 {
		// The child's fds by number: 0-2 the standard ones, then the
		// directories at the numbers watch() reads them from.
		type open struct {
			path string
			flag int
		}
		opens := map[int]open{
			0:        {os.DevNull, os.O_RDWR},
			1:        {"/dev/console", os.O_WRONLY | unix.O_NOCTTY},
			2:        {"/dev/console", os.O_WRONLY | unix.O_NOCTTY},
			fdDev:    {"/dev", os.O_RDONLY | unix.O_DIRECTORY},
			fdProc:   {"/proc", os.O_RDONLY | unix.O_DIRECTORY},
			fdRunDir: {"/run/sandbox", os.O_RDONLY | unix.O_DIRECTORY},
		}
		files = make([]*os.File, len(opens))
		for fd, o := range opens {
			f, err := os.OpenFile(o.path, o.flag, 0)
			if err != nil {
				for _, f := range files {
					if f != nil {
						f.Close()
					}
				}
				return &bootError{Device: o.path, Err: err, Hint: "set sandbox.watch=0 to boot without the COW watcher"}
			}
			files[fd] = f
		}
	}
	done := make(chan error, 1)
	s.helpers = done
	goSafe(s.log, "the helpers' start", func() {
		// The thread is never unlocked: it ends with this goroutine.
		runtime.LockOSThread()
		kmod.IdleThread() // the watcher inherits SCHED_IDLE
		sent := false
		defer func() {
			for _, f := range files {
				f.Close()
			}
			if !sent { // a bug: awaitHelpers must not wait forever
				done <- errors.New("internal error")
			}
		}()
		send := func(err error) { done <- err; sent = true }
		if err := installShutdown(s.cfg.Name); err != nil {
			send(fmt.Errorf("%s: %w", shutdownPath, err))
			return
		}
		if s.cfg.Watch == 0 {
			send(nil)
			return
		}
		// From the copy in /run/initramfs: one binary in RAM for both.
		p, err := os.StartProcess(shutdownPath, []string{"sandbox-init", "watch", s.cfg.Name, s.cfg.Watch.String(), s.log.consoleArg()},
			&os.ProcAttr{Files: files, Sys: &syscall.SysProcAttr{Setsid: true}})
		if err == nil {
			s.state.Watcher = p.Pid
			err = p.Release()
		}
		send(err)
	})
	return nil
}

// awaitHelpers reports how the helpers' start went. A helper that did not
// start does not stop the boot: the sandbox works, only unwatched, or
// without the tidy end.
func (s *sandbox) awaitHelpers() error {
	if s.helpers == nil {
		return nil
	}
	if err := <-s.helpers; err != nil {
		s.log.Warnf("WARNING: the COW watcher or the shutdown hand-back did not start (%v): no warnings when the COW store fills; see sandbox-init status", err)
		return nil
	}
	if s.state.Watcher != 0 {
		s.log.Printf("watcher pid %d checks %s's COW store every %v (%s)", s.state.Watcher, s.cfg.Name, s.cfg.Watch, usagePath)
	}
	return nil
}

// usage is usage.json.
type usage struct {
	UsedSectors     uint64  `json:"used_sectors"`
	TotalSectors    uint64  `json:"total_sectors"`
	MetadataSectors uint64  `json:"metadata_sectors"`
	Percent         float64 `json:"percent"`
	Invalid         bool    `json:"invalid"`
	Uptime          float64 `json:"uptime_s"`
}

// watch is "sandbox-init watch NAME EVERY [CONSOLES]": CONSOLES are the
// active consoles, "tty0,ttyS0", that its warnings must reach.
func watch(args []string) int {
	badArgs := func() int {
		fmt.Fprintln(os.Stderr, "usage: sandbox-init watch NAME INTERVAL [CONSOLES]\n(PID 1 starts it with fds 3, 4, 5 open on /dev, /proc, /run/sandbox; not for use by hand)")
		return 2
	}
	if len(args) != 2 && len(args) != 3 {
		return badArgs()
	}
	name := args[0]
	every, err := time.ParseDuration(args[1])
	if err != nil || every <= 0 {
		return badArgs()
	}
	openat := func(dir int, name string, flag int) *os.File {
		fd, err := unix.Openat(dir, name, flag|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil
		}
		return os.NewFile(uintptr(fd), name)
	}
	// The watcher logs as PID 1 does, with the same code: to kmsg at the
	// line's level, and straight to every active console when the kernel
	// will not print it. PID 1 passes the consoles: the watcher has no /sys.
	var consoles []string
	if len(args) > 2 {
		consoles = parseActiveConsoles(args[2])
	}
	log := newLogger(os.Stdout)
	log.attach(fdDev, fdProc, consoles)
	log.learnClock()
	say := log.logf
	var ctl *dm.Client // device-mapper's node appears when dm-mod loads
	seen := false      // the snapshot has existed
	next := 0
	for {
		if ctl == nil {
			if f := openat(fdDev, "mapper/control", unix.O_RDWR); f != nil {
				ctl = dm.NewClient(f)
			} else {
				time.Sleep(every)
				continue
			}
		}
		ts, err := ctl.Status(name)
		if errors.Is(err, unix.ENXIO) {
			if seen {
				return 0 // the snapshot was removed: nothing left to watch
			}
			time.Sleep(every) // not made yet
			continue
		}
		seen = seen || err == nil
		if err == nil && len(ts) == 1 {
			st, perr := dm.ParseSnapshotStatus(ts[0].Params)
			if perr == nil {
				u := usage{UsedSectors: st.Used, TotalSectors: st.Total, MetadataSectors: st.Metadata, Percent: st.Percent(), Invalid: st.Invalid || st.Overflow,
					Uptime: float64(uptime().Milliseconds()) / 1000}
				writeUsage(u)
				if u.Invalid {
					say(levelFail, "ALERT: the COW store is full and the snapshot %s is INVALID: every read and write of / now fails. "+
						"The base image is untouched. Reboot to start over; give sandbox.cowsize= more room next time.", name)
					return 1
				}
				for next < len(thresholds) && u.Percent >= thresholds[next] {
					say(levelWarn, "WARNING: COW store %.0f%% full (%s of %s): when it is full the sandbox dies; save your work outside it",
						thresholds[next], config.HumanBytes(st.Used*512), config.HumanBytes(st.Total*512))
					next++
				}
			}
		}
		time.Sleep(every)
	}
}


// writeUsage replaces usage.json atomically, so readers never see half.
func writeUsage(u usage) {
	b, _ := json.Marshal(u)
	tmp := "usage.json.tmp"
	fd, err := unix.Openat(fdRunDir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return
	}
	_, err = unix.Write(fd, append(b, '\n'))
	unix.Close(fd)
	if err == nil {
		_ = unix.Renameat(fdRunDir, tmp, fdRunDir, "usage.json")
	}
}
