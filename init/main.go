// Command init is sandbox-init: PID 1 of an initramfs that boots a read-only
// root image (a file on a CD, or a block device) as a writable root whose
// changes live only in RAM, through a device-mapper snapshot.
//
// The recipe is the one of the sandbox how-to, one call a step: boot()
// lists every step a boot takes. A step is a function of the boot (its
// configuration, log, state.json and held fds: sandbox) and of the values
// the steps before it made. The medium the image comes from (medium.go) is
// one value chosen from the configuration, whose steps the table runs.
package main

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/init/internal/pid1"
	"github.com/sandbox-init/sandbox-init/init/internal/shutdown"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"github.com/sandbox-init/sandbox-init/state"
)

// main dispatches the modes: as an ordinary command, status or watch
// (tool); as PID 1 named shutdown, systemd's hand-back at power-off
// (package shutdown); as PID 1, the boot.
func main() {
	if os.Getpid() != 1 {
		os.Exit(tool(os.Args[1:]))
	}
	log := klog.New(os.Stdout)
	if filepath.Base(os.Args[0]) == "shutdown" {
		verb := "poweroff"
		if len(os.Args) > 1 {
			verb = os.Args[1]
		}
		shutdown.PID1(log, verb, shutdown.Run, pid1.StopMachine) // systemd handed the end back to us
	}
	cfg := config.Default()
	defer func() {
		// A bug must not end PID 1 (a kernel panic): report it as a failure.
		if r := recover(); r != nil {
			onFailure(log, cfg.OnFail, &bootError{Phase: "boot", Err: pid1.PanicError(r)})
		}
	}()
	if err := boot(log, &cfg); err != nil {
		onFailure(log, cfg.OnFail, err)
	}
}

// boot runs the steps; it returns only on failure. cfg is the configuration
// as far as it was read, for onFailure's action. The steps, each a phase:
//
//   - sysfs, drivers, mounts, config: /proc and /sys, the host adapters'
//     drivers started, then /dev, /run and the log's consoles, the kernel
//     command line read;
//   - helpers, cowsize, modules: the shutdown helper and the COW watcher,
//     the RAM COW store's size, the modules the configuration needs;
//   - the medium's (media): cd or iso, toram, image, eject; origin; or
//     net, fetch, image; or net, nbd, image: the read-only origin device;
//   - cow, grow, snapshot, release, mount: the COW device, the grown
//     origin, the snapshot over both, mounted read-write on /newroot;
//   - move, settle, helpers-up, bootchain, state: the CD under the new
//     root, every module in, the watcher up, the boot chain, state.json;
//   - switch_root: exec the real init.
//
// What a step makes that a later one needs (the snapshot's devices) is
// passed on in the variables below; s holds only what lives for the whole
// boot.
func boot(log *klog.Logger, cfg *config.Config) error {
	s := &sandbox{log: log}
	err := s.run([]step{
		{"sysfs", mountKernel},    // /proc, /sys: what the drivers' start reads
		{"drivers", startDrivers}, // the boot device's drivers probe while the rest is read
		{"mounts", mountAPI},      // /dev, /run; the log gets the kernel's clock
		{"config", func(s *sandbox) error { return readConfig(s, cfg) }},
	})
	if err != nil {
		return err
	}
	m := chooseMedium(&s.cfg).make(&s.cfg) // where the image comes from: cd, iso, origin, net or nbd (media)
	steps := []step{
		{"helpers", startHelpers}, // SCHED_IDLE: /run/initramfs/shutdown, and the COW watcher
		{"cowsize", sizeCOW},      // a RAM COW store's size, from sandbox.cowsize and the RAM
		{"modules", loadModules},  // start loading: loop, isofs, brd, device-mapper
	}
	steps = append(steps, m.find()...)    // cd+toram, iso+toram, origin, net+fetch or net+nbd: the medium found, the image fetched or connected
	steps = append(steps, m.attach()...)  // image: the root image loop-attached read-only (and verified): the origin
	steps = append(steps, m.release()...) // eject: after toram, the CD let go of
	var origin, cow, root string          // the snapshot's devices, as the steps make them
	var grow uint64                       // the blocks the root grows to (sandbox.grow), 0 for none
	steps = append(steps,
		step{"cow", func(s *sandbox) (err error) { cow, err = prepareCOW(s, m.origin()); return err }},          // the RAM disk (or disk) that takes the changes
		step{"grow", func(s *sandbox) (err error) { origin, grow, err = growBase(s, m.origin()); return err }},  // sandbox.grow: the image and zeros, room to grow into
		step{"snapshot", func(s *sandbox) (err error) { root, err = makeSnapshot(s, origin, cow); return err }}, // 0 SZ snapshot ORIGIN COW N CHUNK, /dev/mapper/NAME
		step{"release", release}, // DM holds the loop device now: drop our fd
		step{"mount", func(s *sandbox) error { return mountRoot(s, root, cow, grow) }}, // the snapshot, read-write, on /newroot
		step{"move", moveCD},             // the CD under the new root (/mnt2)
		step{"settle", finishModules},    // every module loaded, none in flight
		step{"helpers-up", awaitHelpers}, // the watcher runs (or a warning says why not)
		step{"bootchain", readBootChain}, // what verified the boot: Secure Boot, lockdown, a signed UKI
		step{"state", writeState},        // /run/sandbox/state.json for the booted system
	)
	if err := s.run(steps); err != nil {
		return err
	}
	return s.run([]step{{"switch_root", switchRoot}}) // returns only on failure
}

// media are the kinds of medium, in the order a configuration is matched
// against them: the first that uses it is the boot's medium. A new kind
// is a file with its medium and a row here.
var media = []mediumKind{
	{"nbd", func(c *config.Config) bool { return c.NBD() }, newNBDMedium},
	{"net", func(c *config.Config) bool { return c.URL != "" }, newNetMedium},
	{"origin", func(c *config.Config) bool { return !c.Origin.IsZero() }, newOriginMedium},
	{"iso", func(c *config.Config) bool { return !c.ISO.IsZero() }, newISOMedium},
	{"cd", func(*config.Config) bool { return true }, newCDMedium}, // the default: search for the CD
}

// chooseMedium is the kind of medium cfg boots from.
func chooseMedium(cfg *config.Config) mediumKind {
	for _, k := range media {
		if k.uses(cfg) {
			return k
		}
	}
	return media[len(media)-1]
}

// run runs steps in order, records their times, and names the phase of a
// failure after its step.
func (s *sandbox) run(steps []step) error {
	for _, st := range steps {
		t0 := time.Now()
		if err := st.run(s); err != nil {
			err = integrity(s, err) // an I/O error's cause, when dm-verity found one
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

// mountKernel mounts /proc and /sys: all the drivers' start needs (the
// devices' modaliases, module parameters from the command line).
func mountKernel(s *sandbox) error {
	if err := mountutil.APIMounts("/proc", "/sys"); err != nil {
		return &bootError{Device: "/proc /sys", Err: err, Hint: "the kernel needs proc and sysfs built in"}
	}
	return nil
}

// mountAPI mounts /dev and /run, from then on copies the log to the
// kernel's and every console, and handles PID 1's signals. It runs once the boot device's driver chain
// is in the kernel: on one CPU nothing of it delays the chain, and a
// console line (~9 ms at 115200 baud) is written while a probe waits.
func mountAPI(s *sandbox) error {
	if err := mountutil.APIMounts("/dev", "/run"); err != nil {
		return &bootError{Device: "/dev /run", Err: err, Hint: "the kernel needs devtmpfs and tmpfs built in"}
	}
	s.log.OpenKmsg()
	// Only now: until the driver chain is in, no child can end and the
	// kernel keeps from PID 1 the signals it has no handler for.
	pid1.HandleSignals(s.log, "")
	s.log.Async(64) // progress lines off the boot's path; switchRoot and onFailure Sync
	s.log.Printf("started (pid 1)")
	return nil
}

// readConfig parses the kernel command line into s.cfg. cfg gets the
// failure action even from a line with errors.
func readConfig(s *sandbox, cfg *config.Config) error {
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
func release(s *sandbox) error {
	for _, h := range s.hold {
		h.Close()
	}
	s.hold = nil
	return nil
}

func switchRoot(s *sandbox) error {
	realInit := s.cfg.Init
	s.log.Sync() // every line out, and this one written before the exec
	s.log.Printf("switch_root to %s, exec %s", newRoot, realInit)
	argv := append([]string{realInit}, os.Args[1:]...)
	s.log.RestoreKmsgLimit() // printk_devkmsg as the real system expects it
	err := mountutil.SwitchRoot(newRoot, realInit, argv, os.Environ())
	return &bootError{Device: realInit, Err: err, Hint: "set sandbox.init= (or init=) to the real init of the root image"}
}
