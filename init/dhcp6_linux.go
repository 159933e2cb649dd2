//go:build !nonet

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/nclient6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linkLocalWait bounds the wait for a link's link-local address to pass
// duplicate address detection (about 1 s after the link is up, 2 s at
// most with the kernel's random delay): DHCPv6 is sent from it, and the
// kernel refuses to bind a tentative address.
const linkLocalWait = 5 * time.Second

// dhcp6 gets a stateful DHCPv6 lease (an IA_NA address) on link: SOLICIT
// with Rapid Commit, then ADVERTISE, REQUEST, REPLY, or a REPLY at once
// from a server that commits rapidly; each message sent tries times at
// most, timeout apart. As for dhcp4, the messages are built here: the
// library's constructors draw the transaction id from the kernel's random
// pool, which early in a VM's boot waits for minutes. from is the
// address the lease came from.
func dhcp6(ctx context.Context, link netlink.Link, timeout time.Duration, tries int) (m *dhcpv6.Message, from net.Addr, err error) {
	a := link.Attrs()
	if err := waitLinkLocal(ctx, link, linkLocalWait); err != nil {
		return nil, nil, err
	}
	conn, err := nclient6.NewIPv6UDPConn(a.Name, dhcpv6.DefaultClientPort)
	if err != nil {
		return nil, nil, err
	}
	return lease6(ctx, conn, a.HardwareAddr, timeout, tries, nclient6.AllDHCPRelayAgentsAndServers)
}

// lease6 is dhcp6's exchange over conn with the servers at dest.
func lease6(ctx context.Context, conn net.PacketConn, mac net.HardwareAddr, timeout time.Duration, tries int, dest *net.UDPAddr) (*dhcpv6.Message, net.Addr, error) {
	pc := &peerConn{PacketConn: conn}
	c, err := nclient6.NewWithConn(pc, mac, nclient6.WithTimeout(timeout), nclient6.WithRetry(1), nclient6.WithBroadcastAddr(dest))
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	defer c.Close()
	xid := transactionID(mac, time.Now())
	sol := dhcp6Message(mac, dhcpv6.TransactionID(xid[1:]), dhcpv6.MessageTypeSolicit)
	sol.AddOption(&dhcpv6.OptIANA{IaId: iaid(mac)})
	sol.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionRapidCommit})
	ans, err := exchange6(ctx, c, sol, nclient6.IsMessageType(dhcpv6.MessageTypeAdvertise, dhcpv6.MessageTypeReply), tries)
	if errors.Is(err, nclient6.ErrNoResponse) {
		return nil, nil, fmt.Errorf("Solicit sent %d times, %v apart, nothing answered", tries, timeout)
	}
	if err != nil {
		return nil, nil, err
	}
	if ans.MessageType == dhcpv6.MessageTypeReply { // Rapid Commit: the lease itself
		return ans, pc.peer(), leaseAddress(ans, pc.peer())
	}
	if err := leaseAddress(ans, pc.peer()); err != nil {
		return nil, nil, err
	}
	xid[1] ^= 0x80 // a new exchange, a new transaction id
	req := dhcp6Message(mac, dhcpv6.TransactionID(xid[1:]), dhcpv6.MessageTypeRequest)
	req.AddOption(dhcpv6.OptServerID(ans.Options.ServerID()))
	req.AddOption(ans.Options.OneIANA())
	reply, err := exchange6(ctx, c, req, nclient6.IsMessageType(dhcpv6.MessageTypeReply), tries)
	if err != nil {
		return nil, nil, fmt.Errorf("advertise of %s from %s, then no answer to the request: %w", ans.Options.OneIANA().Options.OneAddress().IPv6Addr, pc.peer(), err)
	}
	return reply, pc.peer(), leaseAddress(reply, pc.peer())
}

// exchange6 sends m to every DHCPv6 server on the link, tries times at
// most, until an answer matches. The library's own retries double the
// wait each time (3 s, 6 s, 12 s…), which would outlast sandbox.netwait;
// here each try waits the client's timeout.
func exchange6(ctx context.Context, c *nclient6.Client, m *dhcpv6.Message, match nclient6.Matcher, tries int) (*dhcpv6.Message, error) {
	for i := 0; i < tries; i++ {
		ans, err := c.SendAndRead(ctx, c.RemoteAddr(), m, match)
		if !errors.Is(err, nclient6.ErrNoResponse) {
			return ans, err
		}
	}
	return nil, nclient6.ErrNoResponse
}

// dhcp6Message is a client's message of type t asking for what a network
// boot needs: DNS, the domain search list and the boot file URL.
func dhcp6Message(mac net.HardwareAddr, xid dhcpv6.TransactionID, t dhcpv6.MessageType) *dhcpv6.Message {
	m := &dhcpv6.Message{MessageType: t, TransactionID: xid}
	m.AddOption(dhcpv6.OptClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: mac}))
	m.AddOption(dhcpv6.OptElapsedTime(0))
	m.AddOption(dhcpv6.OptRequestedOption(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList, dhcpv6.OptionBootfileURL))
	return m
}

// iaid names the client's one IA_NA by its MAC's last four bytes, the
// same on every boot.
func iaid(mac net.HardwareAddr) (id [4]byte) {
	if len(mac) >= 4 {
		copy(id[:], mac[len(mac)-4:])
	}
	return id
}

// leaseAddress refuses an answer without an address, with the server's
// status when it gave one (NoAddrsAvail: its range is used up).
func leaseAddress(m *dhcpv6.Message, from net.Addr) error {
	ia := m.Options.OneIANA()
	if ia != nil && ia.Options.OneAddress() != nil {
		return nil
	}
	status := m.Options.Status()
	if ia != nil && ia.Options.Status() != nil {
		status = ia.Options.Status()
	}
	why := "no status"
	if status != nil {
		why = fmt.Sprintf("%s %q", status.StatusCode, status.StatusMessage)
	}
	return fmt.Errorf("the server %s answered (%s) without an address: %s", from, m.MessageType, why)
}

// waitLinkLocal waits until link's link-local address has passed
// duplicate address detection.
func waitLinkLocal(ctx context.Context, link netlink.Link, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a.IP.IsLinkLocalUnicast() && a.Flags&unix.IFA_F_DADFAILED != 0 {
				return fmt.Errorf("its link-local address %s is a duplicate of another machine's (duplicate address detection failed)", a.IP)
			}
			if a.IP.IsLinkLocalUnicast() && a.Flags&unix.IFA_F_TENTATIVE == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no usable link-local address after %v (duplicate address detection; is IPv6 off on this link?)", wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// peerConn remembers who sent the last datagram read: the DHCPv6
// server's link-local address, which the library does not pass on.
type peerConn struct {
	net.PacketConn
	mu   sync.Mutex
	last net.Addr
}

func (p *peerConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := p.PacketConn.ReadFrom(b)
	if err == nil {
		p.mu.Lock()
		p.last = a
		p.mu.Unlock()
	}
	return n, a, err
}

func (p *peerConn) peer() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		return &net.UDPAddr{IP: net.IPv6unspecified}
	}
	return p.last
}
