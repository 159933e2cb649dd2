//go:build !nonet

package nbd

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// TestSockets: NBD_ATTR_SOCKETS nests one NBD_SOCK_ITEM holding
// NBD_SOCK_FD, as nbd-netlink.h lays it out and the kernel's
// nbd_genl_connect reads it.
func TestSockets(t *testing.T) {
	got := sockets(7).Serialize()
	ne := nl.NativeEndian()
	attr := func(typ uint16, body []byte) []byte {
		b := make([]byte, 4, 4+len(body))
		ne.PutUint16(b, uint16(4+len(body)))
		ne.PutUint16(b[2:], typ)
		return append(b, body...)
	}
	fd := make([]byte, 4)
	ne.PutUint32(fd, 7)
	want := attr(unix.NLA_F_NESTED|attrSockets, attr(unix.NLA_F_NESTED|sockItem, attr(sockFD, fd)))
	if !bytes.Equal(got, want) {
		t.Errorf("NBD_ATTR_SOCKETS is % x, want % x", got, want)
	}
}

// TestIndexOf: the device's index is read from a reply or an event.
func TestIndexOf(t *testing.T) {
	msg := []byte{cmdLinkDead, familyVer, 0, 0}
	msg = append(msg, nl.NewRtAttr(attrIndex, nl.Uint32Attr(3)).Serialize()...)
	if i, ok := indexOf(msg); !ok || i != 3 {
		t.Errorf("indexOf = %d, %v; want 3", i, ok)
	}
	if _, ok := indexOf(msg[:6]); ok {
		t.Error("a truncated message gave an index")
	}
	other := append([]byte{cmdLinkDead, familyVer, 0, 0}, nl.NewRtAttr(attrSize, binary.BigEndian.AppendUint64(nil, 1)).Serialize()...)
	if _, ok := indexOf(other); ok {
		t.Error("a message without NBD_ATTR_INDEX gave an index")
	}
}
