package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"golang.org/x/sys/unix"
)

// signalVerb is what a signal to PID 1 asks for, as busybox's and
// sysvinit's tools send them: reboot sends SIGTERM, poweroff SIGUSR2, halt
// SIGUSR1, and the kernel turns Ctrl-Alt-Del into SIGINT when it does not
// reboot at once itself. "" is a signal PID 1 ignores (SIGHUP, SIGQUIT).
func signalVerb(sig os.Signal) string {
	switch sig {
	case unix.SIGTERM, unix.SIGINT:
		return "reboot"
	case unix.SIGUSR2:
		return "poweroff"
	case unix.SIGUSR1:
		return "halt"
	}
	return ""
}

// handleSignals gives PID 1 the signals' meanings. Go's default for
// SIGTERM, SIGINT and SIGHUP is to exit, and an exiting PID 1 is a kernel
// panic: "reboot" typed in the rescue shell would panic the machine. The
// handlers go away with the exec of the real init, which installs its own.
// stopping is the verb of a shutdown under way (systemd's hand-back to
// /run/initramfs/shutdown), "" in a boot: a shutdown finishes what it was
// asked to do, whatever a signal asks for then (systemd routes Ctrl-Alt-Del
// to PID 1 as SIGINT; Go's default for it is exit(2), a kernel panic).
func handleSignals(log *klog.Logger, stopping string) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, unix.SIGTERM, unix.SIGINT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGHUP, unix.SIGQUIT)
	goSafe(log, "signals", func() {
		for sig := range ch {
			verb := signalVerb(sig)
			if stopping != "" {
				log.Warnf("%v ignored: the %s under way goes on", sig, stopping)
				continue
			}
			if verb == "" {
				log.Warnf("%v ignored: PID 1 does not stop on it", sig)
				continue
			}
			log.Warnf("%v received: %s", sig, verb)
			stopMachine(verb)
		}
	})
}

// goSafe runs f in a goroutine whose panic does not take PID 1 down (a
// panic in any goroutine ends the process, and PID 1's end is a kernel
// panic the user cannot read): it is logged as a bug, with its stack.
// Whoever waits on f must learn of the failure through f's own deferred
// cleanup (a channel closed or sent to in a defer).
func goSafe(log *klog.Logger, what string, f func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				log.Warnf("WARNING: internal error in %s (a bug: please report it): %v\n%s", what, r, debug.Stack())
			}
		}()
		f()
	}()
}

// panicError turns a recovered panic into an error for the failure report.
func panicError(r any) error {
	return fmt.Errorf("internal error (a bug: please report it): %v\n%s", r, debug.Stack())
}
