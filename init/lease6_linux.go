//go:build !nonet

package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/state"
	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// raWait bounds the wait, after a DHCPv6 lease, for the router
// advertisement that names the link's on-link prefix: DHCPv6 gives an
// address, not its network (RFC 5942), and the kernel sends its router
// solicitation only once the link-local address is usable, so the
// answer may come a little after the lease.
const raWait = 2 * time.Second

// takeLease6 configures a DHCPv6 lease on its link: the address, with
// the on-link prefix of the router advertisement when there is one
// (/128 when none, which reaches only what a route names), and the DNS
// servers in /etc/resolv.conf. The address has no lifetime, as DHCPv4's
// has none: the booted system's DHCPv6 client renews it (docs/netboot.md).
func takeLease6(s *sandbox, nl netlink.Link, m *dhcpv6.Message, from net.Addr, links []netLink, took time.Duration) error {
	l := pickedLink(nl.Attrs().Name, links)
	lease := m.Options.OneIANA().Options.OneAddress()
	bits, gw := raPrefix(nl, lease.IPv6Addr, raWait)
	// No duplicate address detection: the server handed the address to
	// this client alone, and a tentative address cannot be a source for
	// a second or more, the download's first connection included.
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: lease.IPv6Addr, Mask: net.CIDRMask(bits, 128)}, Flags: unix.IFA_F_NODAD}
	if err := netlink.AddrReplace(nl, addr); err != nil {
		return &bootError{Device: l.String(), Err: fmt.Errorf("configuring the DHCPv6 lease %s: %w", addr.IPNet, err)}
	}
	dns := m.Options.DNS()
	if len(dns) > 0 {
		var search []string
		if d := m.Options.DomainSearchList(); d != nil {
			search = d.Labels
		}
		_ = os.MkdirAll("/etc", 0o755)
		if err := dhclient.WriteDNSSettings(dns, search, "", dhclient.ResolvConfPath); err != nil {
			return &bootError{Device: dhclient.ResolvConfPath, Err: fmt.Errorf("the DHCPv6 lease's DNS servers: %w", err)}
		}
	}
	server := from.String()
	if u, ok := from.(*net.UDPAddr); ok {
		server = (&net.IPAddr{IP: u.IP, Zone: u.Zone}).String() // fe80::…%eth0, not [fe80::…%eth0]:547
	}
	st := &state.Net{Iface: l.Name, MAC: l.MAC, Address: addr.IPNet.String(), Server: server}
	prefix := "on-link prefix from the router advertisement"
	if bits == 128 {
		prefix = fmt.Sprintf("/128: no router advertisement named an on-link prefix in %v", raWait)
	}
	if gw != nil {
		st.Gateway = gw.String()
	}
	s.state.Net = st
	s.log.Printf("net: %s: %s by DHCPv6 from %s in %v (%s)%s, DNS %s", l, st.Address, server, took.Round(time.Millisecond), prefix, gatewaySays(st.Gateway), listOrNone(dns))
	if s.cfg.URL == config.DHCPURL {
		return urlFromDHCP6(s, m.Options.BootFileURL(), server)
	}
	return nil
}

// pickedLink is the link named name among links, for messages.
func pickedLink(name string, links []netLink) netLink {
	for _, x := range links {
		if x.Name == name {
			return x
		}
	}
	return netLink{Name: name}
}

// raPrefix waits (wait at most) for what the kernel made of a router
// advertisement on nl: the on-link prefix's route holding addr, and the
// default route. It returns the prefix's length (128 when none) and the
// router.
func raPrefix(nl netlink.Link, addr net.IP, wait time.Duration) (bits int, gw net.IP) {
	deadline := time.Now().Add(wait)
	for {
		routes, _ := netlink.RouteList(nl, netlink.FAMILY_V6)
		bits = 128
		for _, r := range routes {
			switch {
			case r.Dst == nil || r.Dst.IP.IsUnspecified():
				gw = r.Gw
			case r.Dst.Contains(addr) && !r.Dst.IP.IsLinkLocalUnicast():
				bits, _ = r.Dst.Mask.Size()
			}
		}
		if bits < 128 || gw != nil || time.Now().After(deadline) {
			return bits, gw
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// urlFromDHCP6 sets sandbox.url=dhcp's URL from the DHCPv6 answer's boot
// file URL (option 59): the image beside it, as for DHCPv4's boot file.
func urlFromDHCP6(s *sandbox, file, server string) error {
	u, err := dhcpBootURL(file, netip.Addr{})
	if err != nil {
		return &bootError{Device: "DHCPv6 server " + server, Err: fmt.Errorf("sandbox.url=dhcp: the DHCPv6 answer has no http(s):// boot file URL (option 59; it says %q)", file),
			Hint: "point the DHCPv6 server's boot file URL at the tree's boot.ipxe (dnsmasq: dhcp-option=option6:bootfile-url,http://[fd00::1]/boot.ipxe), or give sandbox.url=http://…"}
	}
	s.cfg.URL = u
	s.log.Printf("net: sandbox.url=dhcp: the DHCPv6 answer's boot file URL (option 59) %q: the image is %s", file, u)
	return nil
}
