// Package pid1 is what every PID-1 mode of sandbox-init needs to stay
// alive and to end the machine: the signals' meanings (an exiting PID 1
// is a kernel panic), a recovered panic as an error, and the stop.
package pid1

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"time"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"golang.org/x/sys/unix"
)

// SignalVerb is what a signal to PID 1 asks for, as busybox's and
// sysvinit's tools send them: reboot sends SIGTERM, poweroff SIGUSR2, halt
// SIGUSR1, and the kernel turns Ctrl-Alt-Del into SIGINT when it does not
// reboot at once itself. "" is a signal PID 1 ignores (SIGHUP, SIGQUIT).
func SignalVerb(sig os.Signal) string {
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

// HandleSignals gives PID 1 the signals' meanings. Go's default for
// SIGTERM, SIGINT and SIGHUP is to exit, and an exiting PID 1 is a kernel
// panic: "reboot" typed in the rescue shell would panic the machine. The
// handlers go away with the exec of the real init, which installs its own.
// stopping is the verb of a shutdown under way (systemd's hand-back to
// /run/initramfs/shutdown), "" in a boot: a shutdown finishes what it was
// asked to do, whatever a signal asks for then (systemd routes Ctrl-Alt-Del
// to PID 1 as SIGINT; Go's default for it is exit(2), a kernel panic).
func HandleSignals(log *klog.Logger, stopping string) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, unix.SIGTERM, unix.SIGINT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGHUP, unix.SIGQUIT)
	klog.GoSafe(log, "signals", func() {
		for sig := range ch {
			verb := SignalVerb(sig)
			if stopping != "" {
				log.Warnf("%v ignored: the %s under way goes on", sig, stopping)
				continue
			}
			if verb == "" {
				log.Warnf("%v ignored: PID 1 does not stop on it", sig)
				continue
			}
			log.Warnf("%v received: %s", sig, verb)
			StopMachine(verb)
		}
	})
}

// PanicError turns a recovered panic into an error for the failure report.
func PanicError(r any) error {
	return fmt.Errorf("internal error (a bug: please report it): %v\n%s", r, debug.Stack())
}

// StopMachine carries out reboot (or kexec, which systemd may ask for),
// poweroff or halt, for sandbox.onfail and for systemd's shutdown
// hand-back. It never returns: should the kernel refuse, PID 1 stays, idle,
// with what was said on screen.
func StopMachine(verb string) {
	unix.Sync()
	switch verb {
	case "reboot", "kexec":
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	case "halt":
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_HALT)
	default: // poweroff, and any verb a later systemd may add
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}
	Halt()
}

// Halt idles PID 1 for good: the machine stays as it is, the message on
// screen.
func Halt() {
	for {
		time.Sleep(time.Hour)
	}
}
