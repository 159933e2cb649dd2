//go:build !nonet

// Only a network boot's init talks to the kernel's NBD device: a CD's
// init (-tags nonet) links package nbd for config's check of an nbd://
// URL alone, without netlink (32 KB of the binary).

package nbd

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The kernel's generic netlink interface to nbd
// (include/uapi/linux/nbd-netlink.h).
const (
	familyName   = "nbd"
	familyVer    = 1
	mcastGroup   = "nbd_mc_group"
	cmdConnect   = 1
	cmdReconf    = 3
	cmdLinkDead  = 4
	attrIndex    = 1
	attrSize     = 2
	attrBlock    = 3
	attrTimeout  = 4
	attrSrvFlags = 5
	attrSockets  = 7
	attrDeadConn = 8
	sockItem     = 1
	sockFD       = 1
)

// Device is what the kernel is told of an export when a socket is handed
// to it.
type Device struct {
	Size      uint64
	BlockSize uint64        // 512..4096, a power of two
	Flags     uint16        // the export's transmission flags; read-only is always added
	Timeout   time.Duration // a request unanswered this long marks the connection dead
	// DeadConn is how long I/O waits for a new socket (Reconfigure)
	// once the connection is dead, before it fails.
	DeadConn time.Duration
}

// family looks up nbd's generic netlink family (the nbd module registers
// it when it loads).
func family() (*netlink.GenlFamily, error) {
	f, err := netlink.GenlFamilyGet(familyName)
	if err != nil {
		return nil, fmt.Errorf("the kernel's nbd netlink interface: %w (is the nbd module loaded?)", err)
	}
	return f, nil
}

func newRequest(f *netlink.GenlFamily, cmd uint8) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(int(f.ID), unix.NLM_F_ACK)
	req.AddData(&nl.Genlmsg{Command: cmd, Version: familyVer})
	return req
}

// sockets is NBD_ATTR_SOCKETS holding the one socket fd.
func sockets(fd int) *nl.RtAttr {
	socks := nl.NewRtAttr(unix.NLA_F_NESTED|attrSockets, nil)
	item := socks.AddRtAttr(unix.NLA_F_NESTED|sockItem, nil)
	item.AddRtAttr(sockFD, nl.Uint32Attr(uint32(fd)))
	return socks
}

// Connect hands the connected socket fd (after Handshake) to the kernel,
// which makes it a read-only /dev/nbdINDEX on a free device; the caller
// may close fd afterwards: the kernel holds the socket.
func Connect(fd int, d Device) (index uint32, err error) {
	f, err := family()
	if err != nil {
		return 0, err
	}
	req := newRequest(f, cmdConnect)
	req.AddData(nl.NewRtAttr(attrSize, nl.Uint64Attr(d.Size)))
	req.AddData(nl.NewRtAttr(attrBlock, nl.Uint64Attr(d.BlockSize)))
	req.AddData(nl.NewRtAttr(attrTimeout, nl.Uint64Attr(uint64(d.Timeout/time.Second))))
	req.AddData(nl.NewRtAttr(attrDeadConn, nl.Uint64Attr(uint64(d.DeadConn/time.Second))))
	req.AddData(nl.NewRtAttr(attrSrvFlags, nl.Uint64Attr(uint64(d.Flags|FlagHasFlags|FlagReadOnly))))
	req.AddData(sockets(fd))
	msgs, err := req.Execute(unix.NETLINK_GENERIC, 0)
	if err != nil {
		return 0, fmt.Errorf("NBD_CMD_CONNECT: %w", err)
	}
	for _, m := range msgs {
		if i, ok := indexOf(m); ok {
			return i, nil
		}
	}
	return 0, errors.New("NBD_CMD_CONNECT: the kernel's reply names no device")
}

// Reconfigure hands the kernel a new connected socket for /dev/nbdINDEX,
// in place of its dead one: the I/O held since it died goes on. When no
// connection is dead the kernel drops the socket and answers success all
// the same (its -ENOSPC is turned into 0), so success says nothing of
// which happened.
func Reconfigure(index uint32, fd int) error {
	f, err := family()
	if err != nil {
		return err
	}
	req := newRequest(f, cmdReconf)
	req.AddData(nl.NewRtAttr(attrIndex, nl.Uint32Attr(index)))
	req.AddData(sockets(fd))
	if _, err := req.Execute(unix.NETLINK_GENERIC, 0); err != nil {
		return fmt.Errorf("NBD_CMD_RECONFIGURE of nbd%d: %w", index, err)
	}
	return nil
}

// indexOf reads NBD_ATTR_INDEX from a generic netlink message's payload.
func indexOf(m []byte) (uint32, bool) {
	if len(m) < nl.SizeofGenlmsg {
		return 0, false
	}
	attrs, err := nl.ParseRouteAttr(m[nl.SizeofGenlmsg:])
	if err != nil {
		return 0, false
	}
	for _, a := range attrs {
		if a.Attr.Type&^unix.NLA_F_NESTED == attrIndex && len(a.Value) >= 4 {
			return nl.NativeEndian().Uint32(a.Value), true
		}
	}
	return 0, false
}

// Events is a subscription to nbd's multicast group: the kernel says
// NBD_CMD_LINK_DEAD there when a device's connection dies.
type Events struct{ fd int }

// Subscribe joins nbd's multicast group.
func Subscribe() (*Events, error) {
	f, err := family()
	if err != nil {
		return nil, err
	}
	group := uint32(0)
	for _, g := range f.Groups {
		if g.Name == mcastGroup {
			group = g.ID
		}
	}
	if group == 0 {
		return nil, errors.New("the kernel's nbd has no multicast group " + mcastGroup)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(group)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("joining %s: %w", mcastGroup, err)
	}
	return &Events{fd: fd}, nil
}

// Dead waits up to wait for the next NBD_CMD_LINK_DEAD and returns the
// device's index; ok is false when none came in time (or the socket
// overflowed: the caller then checks its device anyway).
func (e *Events) Dead(wait time.Duration) (index uint32, ok bool, err error) {
	tv := unix.NsecToTimeval(wait.Nanoseconds())
	if err := unix.SetsockoptTimeval(e.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return 0, false, err
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(e.fd, buf, 0)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOBUFS) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return 0, false, nil
	}
	for _, m := range msgs {
		if len(m.Data) >= nl.SizeofGenlmsg && m.Data[0] == cmdLinkDead {
			if i, ok := indexOf(m.Data); ok {
				return i, true, nil
			}
		}
	}
	return 0, false, nil
}

// Close leaves the group.
func (e *Events) Close() error { return unix.Close(e.fd) }
