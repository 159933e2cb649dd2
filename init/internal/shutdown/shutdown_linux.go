// Package shutdown is sandbox-init's end: installed as
// /run/initramfs/shutdown by the boot, it runs as PID 1 when systemd hands
// the machine back at power-off, and takes the sandbox down.
package shutdown

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/dm"
	"github.com/sandbox-init/sandbox-init/init/internal/diag"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/init/internal/pid1"
	"golang.org/x/sys/unix"
)

// At power-off, systemd hands the machine back to an initramfs when
// /run/initramfs/shutdown exists: it pivots into /run/initramfs, with the
// old root on /oldroot, and execs /shutdown VERB as PID 1 (dracut does the
// same). sandbox-init leaves its own binary there, the one the watcher
// runs from (no second copy in RAM), so the sandbox ends as the how-to ends
// it: unmount, remove the snapshot, and the loop device detaches itself.
const (
	dir      = "/run/initramfs"
	Path     = dir + "/shutdown"
	nameFile = dir + "/sandbox-name" // the DM name to remove
)

// Install copies the running binary to /run/initramfs/shutdown.
func Install(name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.WriteFile(nameFile, []byte(name+"\n"), 0o644)
}

// PID1 runs the shutdown (run) as PID 1, where a signal (systemd has
// the kernel turn Ctrl-Alt-Del into a SIGINT to PID 1) or a bug must not
// end it before the machine stops: the signals are logged and ignored, and
// a panic is logged and the machine stopped all the same (stop).
func PID1(log *klog.Logger, verb string, run func(*klog.Logger, string), stop func(string)) {
	pid1.HandleSignals(log, verb)
	defer func() {
		if r := recover(); r != nil {
			log.Warnf("WARNING: shutdown: %v; %s anyway", pid1.PanicError(r), verb)
			stop(verb)
		}
	}()
	run(log, verb)
}

// Run runs as PID 1 in /run/initramfs at the very end: it unmounts
// what is left under /oldroot, deepest first, removes the snapshot and
// carries out verb (poweroff, reboot, halt). It never returns.
func Run(log *klog.Logger, verb string) {
	_ = os.MkdirAll("/proc", 0o755)
	_ = unix.Mount("proc", "/proc", "proc", 0, "")
	_ = os.MkdirAll("/dev", 0o755)
	_ = unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	log.OpenKmsg()
	log.Printf("shutdown: %s: taking the sandbox down", verb)
	unix.Sync()
	for _, m := range mountsUnder("/oldroot") {
		if err := unix.Unmount(m, 0); err != nil {
			_ = unix.Unmount(m, unix.MNT_DETACH)
		}
	}
	name := "sandbox"
	if b, err := os.ReadFile(nameFile); err == nil && strings.TrimSpace(string(b)) != "" {
		name = strings.TrimSpace(string(b))
	}
	if c, err := dm.Open(); err == nil {
		err = c.Remove(name)
		// The last opener may still be going away (a process systemd
		// spared, a lazily detached mount): try for two seconds.
		for i := 0; i < 40 && errors.Is(err, unix.EBUSY); i++ {
			time.Sleep(50 * time.Millisecond)
			err = c.Remove(name)
		}
		if err != nil {
			log.Printf("shutdown: %v (harmless: the changes are gone with the RAM)", err)
		} else {
			log.Printf("shutdown: snapshot %s removed; the sandbox goes poof, the base is as it was", name)
			_ = c.Remove(name + "-base")        // sandbox.grow's base, when there is one
			_ = c.Remove(diag.VerityName(name)) // sandbox.verity's device, when there is one
		}
		c.Close()
	}
	pid1.StopMachine(verb)
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.Count(filepath.Clean(out[i]), "/") > strings.Count(filepath.Clean(out[j]), "/")
	})
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal(s string) (byte, bool) {
	if len(s) != 3 {
		return 0, false
	}
	var v int
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	return byte(v), v < 256
}
