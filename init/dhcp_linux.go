//go:build !nonet

package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/vishvananda/netlink"
)

// dhcp4 gets a DHCPv4 lease on link: DISCOVER, OFFER, REQUEST, ACK, each
// sent tries times at most, timeout apart. The messages are built here,
// not by the library's constructors: those draw the transaction id from
// the kernel's random pool, and early in a boot without a hardware RNG
// (QEMU's default CPU has no RDRAND) that read waits for the pool, up to
// two minutes. A transaction id only pairs answers with questions: the
// MAC and the clock make one that differs between machines.
func dhcp4(ctx context.Context, link netlink.Link, timeout time.Duration, tries int) (*dhcpv4.DHCPv4, error) {
	a := link.Attrs()
	c, err := nclient4.New(a.Name, nclient4.WithTimeout(timeout), nclient4.WithRetry(tries), nclient4.WithHWAddr(a.HardwareAddr))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	xid := transactionID(a.HardwareAddr, time.Now())
	offer, err := c.SendAndRead(ctx, nclient4.DefaultServers, dhcpMessage(a.HardwareAddr, xid, dhcpv4.MessageTypeDiscover),
		nclient4.IsMessageType(dhcpv4.MessageTypeOffer))
	if err != nil {
		return nil, fmt.Errorf("no offer: %w", err)
	}
	req := dhcpMessage(a.HardwareAddr, xid, dhcpv4.MessageTypeRequest)
	req.UpdateOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr))
	req.UpdateOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier()))
	ack, err := c.SendAndRead(ctx, nclient4.DefaultServers, req, nclient4.IsMessageType(dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak))
	if err != nil {
		return nil, fmt.Errorf("offer of %s from %s, then no answer to the request: %w", offer.YourIPAddr, offer.ServerIdentifier(), err)
	}
	if ack.MessageType() == dhcpv4.MessageTypeNak {
		return nil, fmt.Errorf("the server %s refused (NAK) its own offer of %s: %s", offer.ServerIdentifier(), offer.YourIPAddr, ack.Message())
	}
	return ack, nil
}

// transactionID mixes the MAC's last bytes with the clock.
func transactionID(mac net.HardwareAddr, now time.Time) dhcpv4.TransactionID {
	var x dhcpv4.TransactionID
	n := uint32(now.UnixNano()) ^ uint32(now.UnixNano()>>32)
	if len(mac) >= 4 {
		n ^= binary.BigEndian.Uint32(mac[len(mac)-4:])
	}
	binary.BigEndian.PutUint32(x[:], n)
	return x
}

// dhcpMessage is a client's message of type t asking for what a network
// boot needs: the netmask, the router, DNS, the boot file and server.
func dhcpMessage(mac net.HardwareAddr, xid dhcpv4.TransactionID, t dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	return &dhcpv4.DHCPv4{
		OpCode: dhcpv4.OpcodeBootRequest, HWType: iana.HWTypeEthernet, ClientHWAddr: mac, TransactionID: xid,
		ClientIPAddr: net.IPv4zero, YourIPAddr: net.IPv4zero, ServerIPAddr: net.IPv4zero, GatewayIPAddr: net.IPv4zero,
		Options: dhcpv4.OptionsFromList(
			dhcpv4.OptMessageType(t),
			dhcpv4.OptClassIdentifier("sandbox-init"),
			dhcpv4.OptParameterRequestList(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
				dhcpv4.OptionBootfileName, dhcpv4.OptionTFTPServerName, dhcpv4.OptionClasslessStaticRoute),
		),
	}
}
