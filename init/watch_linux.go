package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/init/internal/shutdown"
	"github.com/sandbox-init/sandbox-init/init/internal/watch"
	"github.com/sandbox-init/sandbox-init/kmod"
	"github.com/sandbox-init/sandbox-init/state"
	"golang.org/x/sys/unix"
)

// startHelpers installs /run/initramfs/shutdown and spawns the watcher
// from it, on a SCHED_IDLE thread: the copy, the fork and the exec run only
// when the CPU is free, and the child inherits the priority from its first
// instruction. The step returns at once; awaitHelpers collects the outcome.
func startHelpers(s *sandbox) error {
	if err := os.MkdirAll("/run/sandbox", 0o755); err != nil {
		return &bootError{Device: "/run/sandbox", Err: err}
	}
	var files []*os.File
	if s.cfg.Watch != 0 {
		// The child's fds by number: 0-2 the standard ones, then the
		// directories at the numbers watch.Main reads them from.
		type open struct {
			path string
			flag int
		}
		opens := map[int]open{
			0:              {os.DevNull, os.O_RDWR},
			1:              {"/dev/console", os.O_WRONLY | unix.O_NOCTTY},
			2:              {"/dev/console", os.O_WRONLY | unix.O_NOCTTY},
			watch.FdDev:    {"/dev", os.O_RDONLY | unix.O_DIRECTORY},
			watch.FdProc:   {"/proc", os.O_RDONLY | unix.O_DIRECTORY},
			watch.FdRunDir: {"/run/sandbox", os.O_RDONLY | unix.O_DIRECTORY},
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
	klog.GoSafe(s.log, "the helpers' start", func() {
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
		if err := shutdown.Install(s.cfg.Name); err != nil {
			send(fmt.Errorf("%s: %w", shutdown.Path, err))
			return
		}
		if s.cfg.Watch == 0 {
			send(nil)
			return
		}
		// From the copy in /run/initramfs: one binary in RAM for both.
		p, err := os.StartProcess(shutdown.Path, []string{watch.Argv0, "watch", s.cfg.Name, s.cfg.Watch.String(), s.log.ConsoleArg()},
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
func awaitHelpers(s *sandbox) error {
	if s.helpers == nil {
		return nil
	}
	if err := <-s.helpers; err != nil {
		s.log.Warnf("WARNING: the COW watcher or the shutdown hand-back did not start (%v): no warnings when the COW store fills; see sandbox-init status", err)
		return nil
	}
	if s.state.Watcher != 0 {
		s.log.Printf("watcher pid %d checks %s's COW store every %v (%s)", s.state.Watcher, s.cfg.Name, s.cfg.Watch, state.UsagePath)
	}
	return nil
}
