//go:build !nonet

package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

var testMAC = net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}

// fakeServer6 answers on loopback as answer says: what a DHCPv6 server
// sends back to a client's message (nil: nothing). It returns the
// server's address and the client's messages as they came.
func fakeServer6(t *testing.T, answer func(*dhcpv6.Message) *dhcpv6.Message) (*net.UDPAddr, <-chan *dhcpv6.Message) {
	t.Helper()
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	got := make(chan *dhcpv6.Message, 10)
	go func() {
		b := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFrom(b)
			if err != nil {
				return
			}
			m, err := dhcpv6.MessageFromBytes(b[:n])
			if err != nil {
				continue
			}
			got <- m
			if a := answer(m); a != nil {
				a.TransactionID = m.TransactionID
				srv.WriteTo(a.ToBytes(), from)
			}
		}
	}()
	return srv.LocalAddr().(*net.UDPAddr), got
}

func clientConn(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var serverDUID = &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}}

// serverAnswer is an answer of type t with the server's id and IA_NA
// holding addr (none when nil).
func serverAnswer(t dhcpv6.MessageType, client *dhcpv6.Message, addr net.IP) *dhcpv6.Message {
	a := &dhcpv6.Message{MessageType: t}
	a.AddOption(dhcpv6.OptClientID(client.Options.ClientID()))
	a.AddOption(dhcpv6.OptServerID(serverDUID))
	ia := &dhcpv6.OptIANA{IaId: client.Options.OneIANA().IaId}
	if addr != nil {
		ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: addr, PreferredLifetime: time.Hour, ValidLifetime: time.Hour})
	} else {
		ia.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "range used up"})
	}
	a.AddOption(ia)
	return a
}

// TestLease6FourMessages: a server that does not commit rapidly gets
// SOLICIT (Rapid Commit, IA_NA, DUID-LL, option 59 asked for), answers
// ADVERTISE, gets a REQUEST for its own offer with a new transaction id,
// and its REPLY is the lease.
func TestLease6FourMessages(t *testing.T) {
	addr := net.ParseIP("fd00::123")
	dest, got := fakeServer6(t, func(m *dhcpv6.Message) *dhcpv6.Message {
		switch m.MessageType {
		case dhcpv6.MessageTypeSolicit:
			return serverAnswer(dhcpv6.MessageTypeAdvertise, m, addr)
		case dhcpv6.MessageTypeRequest:
			r := serverAnswer(dhcpv6.MessageTypeReply, m, addr)
			r.AddOption(dhcpv6.OptBootFileURL("http://[fd00::1]/boot.ipxe"))
			return r
		}
		return nil
	})
	m, from, err := lease6(context.Background(), clientConn(t), testMAC, 2*time.Second, 2, dest)
	if err != nil {
		t.Fatal(err)
	}
	if a := m.Options.OneIANA().Options.OneAddress(); !a.IPv6Addr.Equal(addr) || m.Options.BootFileURL() != "http://[fd00::1]/boot.ipxe" || from.String() != dest.String() {
		t.Errorf("lease %v, boot file %q, from %v", a, m.Options.BootFileURL(), from)
	}
	sol, req := <-got, <-got
	if sol.MessageType != dhcpv6.MessageTypeSolicit || sol.GetOneOption(dhcpv6.OptionRapidCommit) == nil || sol.Options.OneIANA() == nil ||
		!sol.IsOptionRequested(dhcpv6.OptionBootfileURL) || sol.GetOneOption(dhcpv6.OptionElapsedTime) == nil {
		t.Errorf("solicit: %s", sol.Summary())
	}
	if ll, ok := sol.Options.ClientID().(*dhcpv6.DUIDLL); !ok || ll.LinkLayerAddr.String() != testMAC.String() {
		t.Errorf("client id %v, not the MAC's DUID-LL", sol.Options.ClientID())
	}
	if req.MessageType != dhcpv6.MessageTypeRequest || req.TransactionID == sol.TransactionID || !req.Options.ServerID().Equal(serverDUID) ||
		!req.Options.OneIANA().Options.OneAddress().IPv6Addr.Equal(addr) {
		t.Errorf("request: %s", req.Summary())
	}
}

// TestLease6Refusals: an ADVERTISE without an address names the server's
// status; no server at all, the tries and their spacing.
func TestLease6Refusals(t *testing.T) {
	dest, _ := fakeServer6(t, func(m *dhcpv6.Message) *dhcpv6.Message {
		return serverAnswer(dhcpv6.MessageTypeAdvertise, m, nil)
	})
	_, _, err := lease6(context.Background(), clientConn(t), testMAC, time.Second, 2, dest)
	if err == nil || !strings.Contains(err.Error(), "without an address") || !strings.Contains(err.Error(), "NoAddrsAvail") {
		t.Errorf("advertise without an address: %v", err)
	}
	silent, _ := fakeServer6(t, func(*dhcpv6.Message) *dhcpv6.Message { return nil })
	t0 := time.Now()
	_, _, err = lease6(context.Background(), clientConn(t), testMAC, 100*time.Millisecond, 3, silent)
	if err == nil || err.Error() != "Solicit sent 3 times, 100ms apart, nothing answered" || time.Since(t0) > 600*time.Millisecond { // 3 × 100 ms, not doubling each time (700 ms)
		t.Errorf("no answer: %v after %v", err, time.Since(t0))
	}
}
