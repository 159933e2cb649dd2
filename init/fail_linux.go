package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/init/internal/pid1"
	"golang.org/x/sys/unix"
)

// bootError is a failure as the user reads it: which step, on which device
// or parameter, what happened, and what to do about it. Steps leave Phase
// empty: boot's step loop names it after the step.
type bootError struct {
	Phase  string // the step that failed
	Device string // the device, file or parameter it failed on; may be empty
	Err    error
	Hint   string // what the user can do; may be empty
}

func (e *bootError) Error() string {
	s := e.Phase + ": "
	if e.Device != "" {
		s += e.Device + ": "
	}
	return s + e.Err.Error()
}

func (e *bootError) Unwrap() error { return e.Err }

// onFailure reports err on every console and carries out sandbox.onfail.
// PID 1 must not return from here: an exiting init is a kernel panic the
// user cannot read.
// The whole block is logged at klog.LevelFail, so that it reaches every console
// (the kernel prints it even under quiet) and stays in dmesg.
func onFailure(log *klog.Logger, action string, err error) {
	defer func() {
		// Nothing here may end PID 1: a panic halts with what was said.
		if recover() != nil {
			pid1.Halt()
		}
	}()
	log.Sync()          // the progress lines before the failure, in order, before the machine stops
	log.LiftKmsgLimit() // again, should switch_root have restored it
	w := log.Writer(klog.LevelFail)
	writeReport(w, err)
	if action == config.OnFailShell {
		if rescueShell(log) {
			action = config.OnFailPoweroff
		} else {
			action = config.OnFailHalt
		}
	}
	fmt.Fprintf(w, "  action: %s\n", action)
	if action == config.OnFailHalt {
		fmt.Fprintf(w, "  halted: the message above stays on screen; power off or reset the machine\n")
	}
	pid1.StopMachine(action)
}

// writeReport writes the failure block, one line a Fprintf: the phase, the
// device, each error, the hint.
func writeReport(w io.Writer, err error) {
	var pe *bootError
	if !errors.As(err, &pe) {
		pe = &bootError{Phase: "boot", Err: err}
	}
	fmt.Fprintf(w, "FAILED in phase %q\n", pe.Phase)
	if pe.Device != "" {
		fmt.Fprintf(w, "  device: %s\n", pe.Device)
	}
	if pe.Err != nil {
		for _, e := range unwrapAll(pe.Err) {
			fmt.Fprintf(w, "  error: %s\n", indentLines(e.Error()))
		}
	}
	if pe.Hint != "" {
		fmt.Fprintf(w, "  hint: %s\n", indentLines(pe.Hint))
	}
	fmt.Fprintf(w, "  the base image was not written to; the real system was not started\n")
}

// indentLines indents the lines after the first of a multi-line text, so
// they read as part of the item they continue.
func indentLines(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// rescueShell runs /bin/sh where a person can type (shellPlaces): on the
// screen and on the serial console when there are both. Each shell has a
// session of its own with its terminal as the controlling one, so Ctrl-C
// and job control work. Every console is told where they are. When one
// exits, the others are ended. It reports whether a shell ran (none in the
// initramfs, or none that started: the caller halts, the message on screen).
func rescueShell(log *klog.Logger) bool {
	w := log.Writer(klog.LevelFail)
	sh, err := exec.LookPath("/bin/sh")
	if err != nil {
		fmt.Fprintf(w, "  no shell in this initramfs (rebuild it with a shell to get one)\n")
		return false
	}
	ttys, where := shellTerminals(log)
	fmt.Fprintf(w, "  action: shell (exit the shell to power off)\n")
	switch len(ttys) {
	case 0: // not even /dev/console: PID 1's own stdin, as before
		where = append(where, "the console")
		fmt.Fprintf(w, "  rescue shell on the console; exit it to power off\n")
	case 1:
		fmt.Fprintf(w, "  rescue shell on %s; exit it to power off\n", where[0])
	default:
		fmt.Fprintf(w, "  rescue shells on %s; exiting either powers off\n", strings.Join(where, " and on "))
	}
	start := func(tty *os.File, ctty bool) (*exec.Cmd, error) {
		cmd := exec.Command(sh)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if tty != nil {
			cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		}
		cmd.Env = append(os.Environ(), "PS1=(sandbox-init rescue) # ")
		// Ctty 0: the child's stdin, the terminal.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: ctty, Ctty: 0}
		return cmd, cmd.Start()
	}
	var cmds []*exec.Cmd
	exited := make(chan struct{}, len(where))
	for i := range where {
		var tty *os.File
		if i < len(ttys) {
			tty = ttys[i]
		}
		cmd, err := start(tty, tty != nil)
		if err != nil && tty != nil {
			// Not a terminal that can be made controlling: a shell
			// without job control is better than none.
			fmt.Fprintf(w, "  shell on %s without job control: %v\n", where[i], err)
			cmd, err = start(tty, false)
		}
		if err != nil {
			fmt.Fprintf(w, "  the shell on %s did not start: %v\n", where[i], err)
			continue
		}
		cmds = append(cmds, cmd)
		klog.GoSafe(log, "the rescue shell", func() {
			defer func() { exited <- struct{}{} }()
			_ = cmd.Wait()
		})
	}
	if len(cmds) > 0 {
		<-exited
		for _, cmd := range cmds {
			// Each shell leads its own session and process group.
			_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		}
	}
	for _, tty := range ttys {
		tty.Close()
	}
	return len(cmds) > 0
}

// shellTerminals opens the terminals the rescue shells run on
// (shellPlaces: the screen's foreground VT, the serial console), and says
// where each is for the message.
func shellTerminals(log *klog.Logger) (ttys []*os.File, where []string) {
	fg := ""
	if b, err := os.ReadFile("/sys/class/tty/tty0/active"); err == nil {
		fg = strings.TrimSpace(string(b))
	}
	var vtcons []string
	names, _ := filepath.Glob("/sys/class/vtconsole/vtcon*/name")
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			vtcons = append(vtcons, string(b))
		}
	}
	for _, p := range shellPlaces(log.Consoles(), fg, hasScreen(vtcons)) {
		if tty, err := os.OpenFile(p.path, os.O_RDWR|unix.O_NOCTTY, 0); err == nil {
			ttys, where = append(ttys, tty), append(where, p.where)
		}
	}
	return ttys, where
}

// unwrapAll flattens errors.Join trees so each problem gets its own line.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}
