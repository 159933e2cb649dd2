//go:build !nonet

package watch

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/nbd"
	"github.com/sandbox-init/sandbox-init/state"
)

// nbdKeeper is the watcher's side of an NBD boot: it waits for the
// kernel's word that the connection died (NBD_CMD_LINK_DEAD) and hands the
// kernel a new one (NBD_CMD_RECONFIGURE). The kernel holds the reads in
// the meantime, up to the dead-connection timeout. It needs no file of
// the root (which is on the device it keeps alive): the server's address
// was resolved at boot, and the binary runs from the initramfs's memory.
type nbdKeeper struct {
	n     state.NBD
	index uint32
	say   func(level int, format string, args ...any)
}

// keepNBD runs for the watcher's life on an NBD boot; it returns once the
// boot is over on any other. It joins nbd's multicast group as soon as the
// nbd module is in, which is before PID 1 connects on most boots (the
// watcher starts early), so that no death goes unheard.
func keepNBD(say func(level int, format string, args ...any)) {
	k := &nbdKeeper{say: say}
	var ev *nbd.Events
	for {
		if ev == nil {
			ev, _ = nbd.Subscribe()
		}
		if n, err := readNBDNote(); err == nil {
			k.n = n
			break
		}
		if _, err := readRunFile("state.json"); err == nil {
			if ev != nil {
				ev.Close()
			}
			return // the boot is over, and not from NBD
		}
		time.Sleep(250 * time.Millisecond)
	}
	i, err := strconv.ParseUint(strings.TrimPrefix(k.n.Device, "/dev/nbd"), 10, 32)
	if err != nil {
		say(klog.LevelWarn, "WARNING: nbd: %s is not an NBD device: nothing reconnects it", k.n.Device)
		return
	}
	k.index = uint32(i)
	for ev == nil {
		if ev, err = nbd.Subscribe(); err != nil {
			time.Sleep(time.Second)
		}
	}
	// A death before the subscription went unheard: hand the kernel a
	// connection once. It takes it only in place of a dead one (and
	// answers the same either way, so this says nothing).
	_ = k.handOver()
	for {
		i, ok, err := ev.Dead(time.Minute)
		switch {
		case err != nil:
			time.Sleep(time.Second)
		case ok && i == k.index:
			k.reconnect()
		}
	}
}

// reconnect dials the server again, with backoff, until the kernel has a
// new connection.
func (k *nbdKeeper) reconnect() {
	t0 := time.Now()
	k.say(klog.LevelWarn, "WARNING: nbd: the connection to %s (%s) is lost: reads wait (%ds at most) while the watcher reconnects", k.n.URL, k.n.Device, k.n.DeadConn)
	for try := 0; ; try++ {
		err := k.handOver()
		if err == nil {
			k.say(klog.LevelInfo, "nbd: %s: reconnected to %s after %v (%s): reads go on", k.n.Device, k.n.Server, time.Since(t0).Round(time.Millisecond), klog.TriesSaid(try+1))
			return
		}
		if try == 0 || try%10 == 9 {
			k.say(klog.LevelWarn, "WARNING: nbd: reconnecting %s to %s: %v; trying again", k.n.Device, k.n.Server, err)
		}
		time.Sleep(nbd.Backoff(try))
	}
}

// handOver connects, checks the export is still the one booted, and
// gives the socket to the kernel.
func (k *nbdKeeper) handOver() error {
	c, err := nbd.Dial(k.n.Server, k.n.Export, nbd.DialTimeout)
	if err != nil {
		return err
	}
	if c.Export.Size != k.n.Size {
		c.Close()
		return fmt.Errorf("the export has %d bytes now, %d at boot: another image (the booted one must come back)", c.Export.Size, k.n.Size)
	}
	f, err := c.Handover()
	if err != nil {
		return err
	}
	defer f.Close()
	return nbd.Reconfigure(k.index, int(f.Fd()))
}

// readNBDNote reads PID 1's note of the NBD connection (NBDNote).
func readNBDNote() (state.NBD, error) {
	b, err := readRunFile(NBDNote)
	if err != nil {
		return state.NBD{}, err
	}
	return state.ParseNBD(b)
}
