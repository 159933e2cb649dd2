//go:build !nonet

package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/init/internal/watch"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"github.com/sandbox-init/sandbox-init/nbd"
	"github.com/sandbox-init/sandbox-init/state"
	"github.com/sandbox-init/sandbox-init/verity"
	"golang.org/x/sys/unix"
)

// nbdTimeout is how long a request may go unanswered before the kernel
// takes the connection for dead (and holds the I/O for a reconnect): a
// server under load answers well within it.
const nbdTimeout = 15 * time.Second

// nbdMedium is sandbox.url=nbd://HOST[:PORT]/EXPORT: the image read on
// demand from an NBD export, never copied, so it may be larger than RAM.
// find brings the network up and connects (connectNBD): the export is
// asked for first (an unknown one fails at once), the hash tree
// (EXPORT.verity) is read whole into RAM and checked against the root
// hash, and the image's socket is handed to the kernel's nbd driver (no
// process has to stay for the device to work); attach puts dm-verity over
// /dev/nbdN as over a loop device (attachNBDImage). The watcher reconnects
// when the connection dies (internal/watch/nbd_linux.go); nothing to let go of.
type nbdMedium struct {
	dev, tree string // /dev/nbdN and the hash tree's file in RAM, once connected
	org       string // the origin attach made
}

func newNBDMedium(*config.Config) medium { return &nbdMedium{} }

func (m *nbdMedium) find() []step {
	return []step{
		{"net", netUp}, // NIC drivers by modalias, link up, DHCP or ip=
		{"nbd", func(s *sandbox) (err error) { // the export connected: /dev/nbdN, its hash tree in RAM
			m.dev, m.tree, err = connectNBD(s)
			return err
		}},
	}
}

func (m *nbdMedium) attach() []step {
	return []step{{"image", func(s *sandbox) (err error) { // dm-verity over /dev/nbdN, the container's image attached
		m.org, err = attachNBDImage(s, m.dev, m.tree)
		return err
	}}}
}

func (*nbdMedium) release() []step  { return nil }
func (m *nbdMedium) origin() string { return m.org }

// connectNBD connects the export (see nbdMedium) and returns its device
// and the hash tree's file ("" without sandbox.verity).
func connectNBD(s *sandbox) (dev, tree string, err error) {
	if err := s.need("nbd", "loop"); err != nil {
		return "", "", err
	}
	u, err := nbd.ParseURL(s.cfg.URL)
	if err != nil {
		return "", "", &bootError{Device: s.cfg.URL, Err: err}
	}
	s.cfg.Image = "/" + path.Base(u.Export)
	addr, err := net.ResolveTCPAddr("tcp", u.Addr())
	if err != nil {
		return "", "", &bootError{Device: s.cfg.URL, Err: err, Hint: "give the server's address (nbd://10.0.0.1/EXPORT), or check the DHCP lease's DNS server"}
	}
	deadline := time.Now().Add(netBudget(s))
	c, err := dialNBD(s, addr.String(), u, u.Export, deadline)
	if err != nil {
		return "", "", err
	}
	if s.cfg.Verity != "" {
		if tree, err = readNBDTree(s, addr.String(), u, deadline); err != nil {
			c.Close()
			return "", "", err
		}
	} else {
		s.log.Warnf("WARNING: nbd: sandbox.url without sandbox.verity: nothing checks the image read from %s; anyone on the way can change it (give the root hash mklive printed)", u)
	}
	if dev, err = handOver(s, c, u); err != nil {
		return "", "", err
	}
	s.state.NBD = &state.NBD{URL: s.cfg.URL, Server: addr.String(), Export: u.Export, Device: dev, Size: c.Export.Size, DeadConn: int(netBudget(s) / time.Second)}
	if s.state.Net != nil {
		s.state.Net.URL = s.cfg.URL
	}
	noteNBD(s)
	s.log.Printf("nbd: %s: %s read on demand through %s (read-only; the kernel holds reads up to %v for a reconnect when the connection is lost)",
		u, config.HumanBytes(c.Export.Size), dev, netBudget(s))
	return dev, tree, nil
}

// netBudget is sandbox.netwait, or its default.
func netBudget(s *sandbox) time.Duration {
	if s.cfg.NetWait == 0 {
		return config.DefaultNetWait
	}
	return s.cfg.NetWait
}

// noteNBD writes watch.NBDNote, and warns when nothing will reconnect.
func noteNBD(s *sandbox) {
	if s.cfg.Watch == 0 {
		s.log.Warnf("WARNING: nbd: sandbox.watch=0: no watcher, so nothing reconnects a lost connection to %s: the root's reads fail %v after it is lost", s.cfg.URL, netBudget(s))
		return
	}
	b := s.state.NBD.JSON()
	if err := os.WriteFile("/run/sandbox/"+watch.NBDNote, b, 0o644); err != nil {
		s.log.Warnf("WARNING: nbd: %v: the watcher cannot reconnect a lost connection", err)
	}
}

// dialNBD connects and asks for export, again with backoff while the
// server is down, until deadline. A refusal of the export fails at once.
func dialNBD(s *sandbox, addr string, u nbd.URL, export string, deadline time.Time) (*nbd.Conn, error) {
	for try := 0; ; try++ {
		c, err := nbd.Dial(addr, export, max(min(nbd.DialTimeout, time.Until(deadline)), time.Second))
		if err == nil {
			return c, nil
		}
		name := "nbd://" + net.JoinHostPort(u.Host, fmt.Sprint(u.Port)) + "/" + export
		var oe *nbd.OptionError
		switch {
		case errors.As(err, &oe) && oe.Reply == nbd.RepErrUnknown:
			return nil, &bootError{Device: name, Err: fmt.Errorf("the server at %s has no export %q: %w", addr, export, err),
				Hint: "check sandbox.url= against the server's exports (nbdkit file dir=DIR: the file names under DIR; nbd-server: its config's [sections]); the hash tree is the export EXPORT.verity beside it"}
		case !nbd.Retryable(err):
			return nil, &bootError{Device: name, Err: err, Hint: "is that port an NBD server (nbdkit, nbd-server, qemu-nbd), and does it let this machine read the export?"}
		}
		wait := nbd.Backoff(try)
		if time.Now().Add(wait).After(deadline) {
			return nil, &bootError{Device: name, Err: fmt.Errorf("no NBD server answered at %s: gave up after %s (last: %v) (our address %s)", addr, klog.TriesSaid(try+1), err, ourAddress(s)),
				Hint: "is the NBD server up, and reachable from this address? sandbox.netwait= gives it longer"}
		}
		s.log.Warnf("WARNING: nbd: try %d failed: %v; again in %v", try+1, err, wait.Round(time.Millisecond))
		time.Sleep(wait)
	}
}

// readNBDTree reads the hash tree (the export EXPORT.verity) whole into a
// tmpfs of its own: dm-verity reads it from RAM, and only the image is
// read from the network on demand. It returns the tree's file.
func readNBDTree(s *sandbox, addr string, u nbd.URL, deadline time.Time) (string, error) {
	export := u.Export + ".verity"
	c, err := dialNBD(s, addr, u, export, deadline)
	if err != nil {
		return "", err
	}
	defer c.Close()
	name := u.String() + ".verity"
	size := c.Export.Size
	if size > maxTree {
		return "", &bootError{Device: name, Err: fmt.Errorf("a hash tree of %s: more than the %s of a tree this boot holds in memory", config.HumanBytes(size), config.HumanBytes(maxTree))}
	}
	t0 := time.Now()
	b := make([]byte, size)
	if err := c.ReadAt(b, 0); err != nil {
		return "", &bootError{Device: name, Err: err, Hint: "the server dropped the connection while the hash tree came: boot again"}
	}
	_ = nbd.Disconnect(c)
	// The whole tree against the root hash, before anything is handed to
	// the kernel: a wrong command line or another build's tree is said
	// here, naming the tree's export.
	root, _ := hex.DecodeString(s.cfg.Verity)
	if _, err := verity.NewStream(b, root, io.Discard); err != nil {
		be := treeMismatch(err, name, s.cfg.Verity).(*bootError)
		be.Phase = "nbd"
		return "", be
	}
	if err := mountutil.Mount("tmpfs", toramDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("mode=0755,size=%d", size+1<<20)); err != nil {
		return "", &bootError{Device: toramDir, Err: err}
	}
	file := filepath.Join(toramDir, path.Base(u.Export)+".verity")
	if err := os.WriteFile(file, b, 0o444); err != nil {
		return "", &bootError{Device: file, Err: err}
	}
	s.log.Printf("nbd: %s: hash tree (%s) into RAM in %v", name, config.HumanBytes(size), time.Since(t0).Round(time.Millisecond))
	return file, nil
}

// handOver gives the image's connection to the kernel and returns the
// device it made.
func handOver(s *sandbox, c *nbd.Conn, u nbd.URL) (string, error) {
	f, err := c.Handover()
	if err != nil {
		return "", &bootError{Device: u.String(), Err: err}
	}
	defer f.Close() // the kernel holds the socket
	bs := uint64(4096)
	if c.Export.Size%bs != 0 {
		bs = 512
	}
	idx, err := nbd.Connect(int(f.Fd()), nbd.Device{Size: c.Export.Size, BlockSize: bs, Flags: c.Export.Flags, Timeout: nbdTimeout, DeadConn: netBudget(s)})
	if err != nil {
		return "", &bootError{Device: u.String(), Err: err, Hint: "the kernel's nbd driver refused the connection: dmesg says why"}
	}
	dev := fmt.Sprintf("/dev/nbd%d", idx)
	for t0 := time.Now(); time.Since(t0) < 2*time.Second; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(dev); err == nil {
			return dev, nil
		}
	}
	return "", &bootError{Device: dev, Err: errors.New("the device did not appear in /dev"), Hint: "the kernel needs devtmpfs"}
}

// attachNBDImage puts dm-verity (with the tree from RAM) over the NBD
// device, then attaches the image inside the container as over a loop
// device. It returns the snapshot's origin.
func attachNBDImage(s *sandbox, dev, tree string) (string, error) {
	name := s.state.NBD.URL
	said := fmt.Sprintf("the image read on demand from %s (%s); ", name, dev)
	top := dev
	if tree != "" {
		var err error
		if top, err = verifyDevice(s, dev, dev, tree, name, name+".verity"); err != nil {
			var be *bootError
			if errors.As(err, &be) {
				be.Hint = "serve the image and its .verity of one mklive build, the one whose root hash the command line gives (mklive prints it); an image that does not match is never booted"
			}
			return "", err
		}
	}
	if isSquashfs(dev) {
		return attachContainer(s, top, dev, said)
	}
	s.state.Origin = top
	s.log.Printf("%s%s is the base", said, top)
	return top, nil
}
