package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"golang.org/x/sys/unix"
)

// phaseError is a failure as the user reads it: which step, on which device
// or parameter, what happened, and what to do about it.
type phaseError struct {
	Phase  string
	Device string
	Err    error
	Hint   string
}

func (e *phaseError) Error() string {
	s := e.Phase + ": "
	if e.Device != "" {
		s += e.Device + ": "
	}
	return s + e.Err.Error()
}

func (e *phaseError) Unwrap() error { return e.Err }

func fail(phase, device string, err error, hint string, args ...any) error {
	return &phaseError{Phase: phase, Device: device, Err: err, Hint: fmt.Sprintf(hint, args...)}
}

// failed reports err and carries out the configured action. PID 1 must not
// return from here: an exiting init is a kernel panic the user cannot read.
func failed(log *logger, action string, err error) {
	var pe *phaseError
	if !errors.As(err, &pe) {
		pe = &phaseError{Phase: "boot", Err: err}
	}
	log.Printf("FAILED in phase %q", pe.Phase)
	if pe.Device != "" {
		log.Printf("  device: %s", pe.Device)
	}
	for _, e := range unwrapAll(pe.Err) {
		log.Printf("  error: %v", e)
	}
	if pe.Hint != "" {
		log.Printf("  hint: %s", pe.Hint)
	}
	log.Printf("  the base image was not written to; the real system was not started")
	if action == config.OnFailShell {
		if sh, err := exec.LookPath("/bin/sh"); err == nil {
			log.Printf("  action: shell (exit the shell to power off)")
			cmd := exec.Command(sh)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			cmd.Env = append(os.Environ(), "PS1=(sandbox-init rescue) # ")
			_ = cmd.Run()
			action = config.OnFailPoweroff
		} else {
			log.Printf("  no shell in this initramfs (rebuild it with a shell to get one)")
			action = config.OnFailHalt
		}
	}
	log.Printf("  action: %s", action)
	unix.Sync()
	switch action {
	case config.OnFailReboot:
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	case config.OnFailPoweroff:
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}
	log.Printf("  halted: the message above stays on screen; power off or reset the machine")
	for {
		time.Sleep(time.Hour)
	}
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
