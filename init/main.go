// Command init is sandbox-init: PID 1 of an initramfs that boots a read-only
// root image (a file on a CD, or a block device) as a writable root whose
// changes live only in RAM, through a device-mapper snapshot.
//
// The recipe is the one of the sandbox how-to, one call a step.
package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/mountutil"
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
		shutdown(log, verb) // systemd handed the end back to us
	}
	cfg := config.Default()
	if err := boot(log, &cfg); err != nil {
		failed(log, cfg.OnFail, err)
	}
}

func boot(log *logger, cfg *config.Config) error {
	if err := mountutil.APIMounts(); err != nil {
		return fail("mount /proc /sys /dev /run", "", err, "the kernel needs proc, sysfs, devtmpfs and tmpfs built in")
	}
	log.openKmsg() // from here on, log lines carry the kernel's clock
	log.Printf("started (pid 1)")
	s := &sandbox{log: log}
	s.startDrivers() // the boot device's drivers probe while the rest is read
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return fail("config", "/proc/cmdline", err, "")
	}
	c, err := config.Parse(string(cmdline))
	cfg.OnFail = c.OnFail // a bad line still gets the asked-for failure action
	if err != nil {
		return fail("config", "kernel command line", err, "fix the sandbox.* parameters named above (README: Parameters)")
	}
	*cfg = c
	s.cfg, s.state.Params = c, c.Params()

	steps := []struct {
		name string
		run  func() error
	}{
		{"helpers", s.startHelpers},  // SCHED_IDLE: /run/initramfs/shutdown, and the COW watcher
		{"modules", s.loadModules},   // start loading: CD drivers, loop, brd, device-mapper
		{"origin", s.findOrigin},     // find the CD and mount it, loop-attach the image
		{"cow", s.prepareCOW},        // the RAM disk that takes the changes
		{"snapshot", s.makeSnapshot}, // 0 SZ snapshot ORIGIN COW N CHUNK
		{"mount", s.mountRoot},       // the snapshot, read-write, on /newroot
		{"move", s.moveCD},           // the CD under the new root (/mnt2)
		{"settle", s.finishModules},  // every module loaded, none in flight
		{"state", s.writeState},      // /run/sandbox/state.json for the booted system
	}
	for _, st := range steps {
		t0 := time.Now()
		if err := st.run(); err != nil {
			return err
		}
		s.state.Phases = append(s.state.Phases, phase{Name: st.name, Millis: float64(time.Since(t0).Microseconds()) / 1000})
	}
	return s.switchRoot() // returns only on failure
}

// sandbox carries one boot's configuration and what its steps found.
type sandbox struct {
	cfg   config.Config
	log   *logger
	state state
	hold  []interface{ Close() error } // fds kept open until DM holds the devices
	mods  *modules                     // modules loading in the background
	// driversErr is a startDrivers failure, reported by the modules step.
	driversErr error
	helpers    chan error // the helpers' start, once it is over
}

func (s *sandbox) release() {
	for _, h := range s.hold {
		h.Close()
	}
	s.hold = nil
}

func (s *sandbox) switchRoot() error {
	init := s.cfg.Init
	s.log.Printf("switch_root to %s, exec %s", newRoot, init)
	argv := append([]string{init}, os.Args[1:]...)
	s.log.restoreKmsgLimit() // printk_devkmsg as the real system expects it
	err := mountutil.SwitchRoot(newRoot, init, argv, os.Environ())
	return fail("switch_root", init, err, "set sandbox.init= (or init=) to the real init of the root image")
}
