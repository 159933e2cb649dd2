// Command init is sandbox-init: PID 1 of an initramfs that boots a read-only
// root image (a file on a CD, or a block device) as a writable root whose
// changes live only in RAM, through a device-mapper snapshot.
//
// The recipe is the one of the sandbox how-to, one call a step: boot()
// lists every step a boot takes.
package main

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"github.com/sandbox-init/sandbox-init/state"
)

// newRoot is where the snapshot is mounted before it becomes /.
const newRoot = "/newroot"

func main() {
	if os.Getpid() != 1 {
		os.Exit(tool(os.Args[1:]))
	}
	log := newLogger(os.Stdout)
	if filepath.Base(os.Args[0]) == "shutdown" {
		verb := "poweroff"
		if len(os.Args) > 1 {
			verb = os.Args[1]
		}
		shutdownPID1(log, verb, shutdown, stopMachine) // systemd handed the end back to us
	}
	handleSignals(log, "")
	cfg := config.Default()
	defer func() {
		// A bug must not end PID 1 (a kernel panic): report it as a failure.
		if r := recover(); r != nil {
			onFailure(log, cfg.OnFail, &bootError{Phase: "boot", Err: panicError(r)})
		}
	}()
	if err := boot(log, &cfg); err != nil {
		onFailure(log, cfg.OnFail, err)
	}
}

// boot runs the steps; it returns only on failure. cfg is the configuration
// as far as it was read, for onFailure's action.
func boot(log *logger, cfg *config.Config) error {
	s := &sandbox{log: log}
	err := s.run([]step{
		{"mounts", s.mountAPI},      // /proc, /sys, /dev, /run; the log gets the kernel's clock
		{"drivers", s.startDrivers}, // the boot device's drivers probe while the rest is read
		{"config", func() error { return s.readConfig(cfg) }},
	})
	if err != nil {
		return err
	}
	steps := []step{
		{"helpers", s.startHelpers}, // SCHED_IDLE: /run/initramfs/shutdown, and the COW watcher
		{"cowsize", s.sizeCOW},      // a RAM COW store's size, from sandbox.cowsize and the RAM
		{"modules", s.loadModules},  // start loading: loop, isofs, brd, device-mapper
	}
	switch {
	case s.cfg.NBD():
		steps = append(steps,
			step{"net", s.netUp},     // NIC drivers by modalias, link up, DHCP or ip=
			step{"nbd", s.attachNBD}) // the export read on demand: /dev/nbdN, dm-verity over it
	case s.cfg.URL != "":
		steps = append(steps,
			step{"net", s.netUp},         // NIC drivers by modalias, link up, DHCP or ip=
			step{"fetch", s.fetchImage},  // sandbox.url into RAM, checked block by block as it comes
			step{"image", s.attachImage}) // the copy in RAM, loop-attached read-only
	case s.cfg.Origin != "":
		steps = append(steps, step{"origin", s.useOrigin}) // the block device, set read-only
	default:
		medium := step{"cd", s.mountCD} // find the CD and mount it read-only on /cd
		if s.cfg.ISO != "" {
			medium = step{"iso", s.mountISOFile} // the ISO file on a disk, loop-mounted read-only on /cd
		}
		steps = append(steps, medium,
			step{"toram", s.toRAM},         // sandbox.toram: the image copied into RAM
			step{"image", s.attachImage},   // the root image file, loop-attached read-only
			step{"eject", s.releaseMedium}) // after toram: the CD unmounted, free to eject
	}
	steps = append(steps,
		step{"cow", s.prepareCOW},          // the RAM disk (or disk) that takes the changes
		step{"grow", s.growBase},           // sandbox.grow: the image and zeros, room to grow into
		step{"snapshot", s.makeSnapshot},   // 0 SZ snapshot ORIGIN COW N CHUNK, /dev/mapper/NAME
		step{"release", s.release},         // DM holds the loop device now: drop our fd
		step{"mount", s.mountRoot},         // the snapshot, read-write, on /newroot
		step{"move", s.moveCD},             // the CD under the new root (/mnt2)
		step{"settle", s.finishModules},    // every module loaded, none in flight
		step{"helpers-up", s.awaitHelpers}, // the watcher runs (or a warning says why not)
		step{"bootchain", s.readBootChain}, // what verified the boot: Secure Boot, lockdown, a signed UKI
		step{"state", s.writeState},        // /run/sandbox/state.json for the booted system
	)
	if err := s.run(steps); err != nil {
		return err
	}
	return s.run([]step{{"switch_root", s.switchRoot}}) // returns only on failure
}

// step is one named, timed part of the boot. Its name is the phase a
// failure is reported in.
type step struct {
	name string
	run  func() error
}

// run runs steps in order, records their times, and names the phase of a
// failure after its step.
func (s *sandbox) run(steps []step) error {
	for _, st := range steps {
		t0 := time.Now()
		if err := st.run(); err != nil {
			err = s.integrity(err) // an I/O error's cause, when dm-verity found one
			var be *bootError
			if !errors.As(err, &be) {
				return &bootError{Phase: st.name, Err: err}
			}
			if be.Phase == "" {
				be.Phase = st.name
			}
			return err
		}
		s.state.Phases = append(s.state.Phases, state.Phase{Name: st.name, Millis: float64(time.Since(t0).Microseconds()) / 1000})
	}
	return nil
}

// sandbox carries one boot's configuration and what its steps found.
type sandbox struct {
	cfg   config.Config
	log   *logger
	state state.State
	hold  []interface{ Close() error } // fds kept open until DM holds the devices
	mods  *modules                     // modules loading in the background
	// driversErr is a startDrivers failure, reported by the modules step
	// (under the configured sandbox.onfail, which is not read yet then).
	driversErr error
	helpers    chan error // the helpers' start, once it is over
	// imageFile is the root image (or container) to attach: on the CD,
	// or its copy in RAM (toRAM).
	imageFile string
	// growBlocks is the size, in file-system blocks, growRoot grows the
	// root to (sandbox.grow); 0 for none.
	growBlocks uint64
}

// mountAPI mounts /proc, /sys, /dev and /run, and from then on copies the
// log to the kernel's and every console.
func (s *sandbox) mountAPI() error {
	if err := mountutil.APIMounts(); err != nil {
		return &bootError{Device: "/proc /sys /dev /run", Err: err, Hint: "the kernel needs proc, sysfs, devtmpfs and tmpfs built in"}
	}
	s.log.openKmsg()
	s.log.Printf("started (pid 1)")
	return nil
}

// readConfig parses the kernel command line into s.cfg. cfg gets the
// failure action even from a line with errors.
func (s *sandbox) readConfig(cfg *config.Config) error {
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return &bootError{Device: "/proc/cmdline", Err: err}
	}
	c, err := config.Parse(string(cmdline))
	cfg.OnFail = c.OnFail
	if err != nil {
		return &bootError{Device: "kernel command line", Err: err, Hint: "fix the sandbox.* parameters named above (README: Parameters)"}
	}
	*cfg = c
	s.cfg, s.state.Params = c, c.Params()
	return nil
}

// release drops the fds that held devices (the loop device) until
// device-mapper took them: autoclear then detaches the loop device when the
// snapshot goes.
func (s *sandbox) release() error {
	for _, h := range s.hold {
		h.Close()
	}
	s.hold = nil
	return nil
}

func (s *sandbox) switchRoot() error {
	realInit := s.cfg.Init
	s.log.Printf("switch_root to %s, exec %s", newRoot, realInit)
	argv := append([]string{realInit}, os.Args[1:]...)
	s.log.restoreKmsgLimit() // printk_devkmsg as the real system expects it
	err := mountutil.SwitchRoot(newRoot, realInit, argv, os.Environ())
	return &bootError{Device: realInit, Err: err, Hint: "set sandbox.init= (or init=) to the real init of the root image"}
}
