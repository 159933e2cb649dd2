//go:build !nonet

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/state"
	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"
)

// carrierWait is how long a link may take to see its carrier once up
// (a PC's NIC negotiates in 1-3 s).
const carrierWait = 6 * time.Second

// dhcpTry is one DHCP attempt's wait for an answer.
const dhcpTry = 3 * time.Second

// netUp brings the network up for sandbox.url: the links the NIC drivers
// (loaded by modalias like the disk drivers) made, narrowed by sandbox.net,
// BOOTIF= or ip=; up, with their carrier; then a static address from ip=,
// or DHCPv4 on every link at once, the first answer taken.
func netUp(s *sandbox) error {
	links, want, err := findLinks(s)
	if err != nil {
		return err
	}
	up := linksUp(s, links)
	if len(up) == 0 {
		return &bootError{Device: linkList(links), Err: fmt.Errorf("no carrier after %v: no cable, or the switch port is down", carrierWait),
			Hint: "plug the cable in (or connect the VM's NIC to a network); with several NICs, name the one to use with sandbox.net=NAME or MAC"}
	}
	if want != "" && len(up) < len(links) {
		s.log.Warnf("WARNING: net: no carrier on %s", linkList(links))
	}
	ip, _ := config.ParseIP(s.cfg.KernelIP)
	if ip.Static.IsValid() {
		return staticIP(s, up[0], ip)
	}
	return dhcp(s, up)
}

// findLinks waits (sandbox.wait, once the drivers are in) for the
// Ethernet links to use. want is the name or MAC asked for, if any.
func findLinks(s *sandbox) ([]netLink, string, error) {
	var links []netLink
	_, want := pickLinks(nil, s.cfg)
	if want == "" {
		// Every link: not only the first to register. A NIC's link
		// exists once its driver's probe is over, so wait for the probe
		// of every NIC found (sandbox.wait at most).
		select {
		case <-s.driversReady():
		case <-time.After(s.cfg.Wait):
		}
	}
	look := func() (bool, error) {
		links, want = pickLinks(ethernetLinks(), s.cfg)
		return len(links) > 0, nil
	}
	if err := waitDevice(s.driversReady(), s.cfg.Wait, look); err == nil {
		return links, want, nil
	}
	all := ethernetLinks()
	if want != "" && len(all) > 0 {
		return nil, want, &bootError{Device: want, Err: fmt.Errorf("no Ethernet link is %s; the machine has %s", want, linkList(all)),
			Hint: "fix sandbox.net= (or BOOTIF=, ip=): a name or MAC address of the list"}
	}
	missing := nicsWithoutDriver("/sys")
	err := errors.New("no Ethernet link appeared")
	if len(missing) > 0 {
		err = fmt.Errorf("no driver in this initramfs for: %s", strings.Join(missing, ", "))
	}
	kernel := "this kernel"
	if s.mods != nil {
		kernel = "kernel " + s.mods.rel
	}
	return nil, want, &bootError{Device: "network", Err: err,
		Hint: "build the initramfs with the NIC drivers (mklive -net), from a kernel that has this NIC's driver (" + kernel + "; Debian's cloud kernel has only virtio_net and ena, its standard kernel e1000, e1000e, igb, r8169 and more)"}
}

// ethernetLinks lists the machine's Ethernet interfaces (type 1, with a
// device behind them: no loopback, no bridges).
func ethernetLinks() []netLink {
	var out []netLink
	dirs, _ := filepath.Glob("/sys/class/net/*")
	for _, d := range dirs {
		read := func(f string) string {
			b, _ := os.ReadFile(filepath.Join(d, f))
			return strings.TrimSpace(string(b))
		}
		if read("type") != "1" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "device")); err != nil {
			continue
		}
		l := netLink{Name: filepath.Base(d), MAC: read("address")}
		if drv, err := os.Readlink(filepath.Join(d, "device/driver")); err == nil {
			l.Driver = filepath.Base(drv)
		}
		out = append(out, l)
	}
	return out
}

// nicsWithoutDriver names the PCI network controllers and virtio network
// devices no driver took: "network controller at PCI 0000:00:03.0 (8086:10d3)".
func nicsWithoutDriver(sys string) []string {
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return strings.TrimSpace(string(b))
	}
	var out []string
	pci, _ := filepath.Glob(filepath.Join(sys, "bus/pci/devices/*"))
	for _, d := range pci {
		if _, err := os.Lstat(filepath.Join(d, "driver")); err == nil || !pciNetClass(read(filepath.Join(d, "class"))) {
			continue
		}
		id := strings.TrimPrefix(read(filepath.Join(d, "vendor")), "0x") + ":" + strings.TrimPrefix(read(filepath.Join(d, "device")), "0x")
		out = append(out, fmt.Sprintf("network controller at PCI %s (%s)", filepath.Base(d), id))
	}
	virtio, _ := filepath.Glob(filepath.Join(sys, "bus/virtio/devices/*"))
	for _, d := range virtio {
		if _, err := os.Lstat(filepath.Join(d, "driver")); err != nil && read(filepath.Join(d, "device")) == "0x0001" {
			what := "virtio network device " + filepath.Base(d)
			if real, err := filepath.EvalSymlinks(d); err == nil && strings.Contains(filepath.Base(filepath.Dir(real)), ":") {
				what += " at PCI " + filepath.Base(filepath.Dir(real)) // the virtio device's PCI function
			}
			out = append(out, what)
		}
	}
	return out
}

// linksUp sets the links up and waits, all at once, for their carrier;
// it returns those that have one.
func linksUp(s *sandbox, links []netLink) []netLink {
	for _, l := range links {
		if nl, err := netlink.LinkByName(l.Name); err == nil {
			if err := netlink.LinkSetUp(nl); err != nil {
				s.log.Warnf("WARNING: net: %s: cannot set it up: %v", l, err)
			}
		}
	}
	deadline := time.Now().Add(carrierWait)
	for {
		var up []netLink
		for _, l := range links {
			if b, _ := os.ReadFile("/sys/class/net/" + l.Name + "/carrier"); strings.TrimSpace(string(b)) == "1" {
				l.Carrier = true
				up = append(up, l)
			}
		}
		if len(up) == len(links) || time.Now().After(deadline) {
			return up
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// staticIP gives link the address and default route of ip=.
func staticIP(s *sandbox, l netLink, ip config.IP) error {
	nl, err := netlink.LinkByName(l.Name)
	if err != nil {
		return &bootError{Device: l.String(), Err: err}
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.Static.Addr().AsSlice(), Mask: net.CIDRMask(ip.Static.Bits(), 32)}}
	if err := netlink.AddrReplace(nl, addr); err != nil {
		return &bootError{Device: l.String(), Err: fmt.Errorf("address %s: %w", ip.Static, err), Hint: "check ip= (CLIENT::GATEWAY:NETMASK:HOSTNAME:IFACE:off)"}
	}
	st := &state.Net{Iface: l.Name, MAC: l.MAC, Address: ip.Static.String()}
	if ip.Gateway.IsValid() {
		if err := netlink.RouteReplace(&netlink.Route{LinkIndex: nl.Attrs().Index, Gw: ip.Gateway.AsSlice()}); err != nil {
			return &bootError{Device: l.String(), Err: fmt.Errorf("default route via %s: %w", ip.Gateway, err), Hint: "the gateway must be in the address's network (ip=)"}
		}
		st.Gateway = ip.Gateway.String()
	}
	s.state.Net = st
	s.log.Printf("net: %s: %s (static, ip=)%s", l, ip.Static, gatewaySays(st.Gateway))
	return nil
}

func gatewaySays(gw string) string {
	if gw == "" {
		return ", no gateway"
	}
	return ", gateway " + gw
}

// dhcp asks for a lease on every link at once, DHCPv4 (DHCPv6 with
// ip=dhcp6), and takes the first answer. The tries are a quarter of what
// sandbox.netwait holds (2 to 5): the download needs the rest.
func dhcp(s *sandbox, links []netLink) error {
	budget := s.cfg.NetWait
	if budget == 0 {
		budget = config.DefaultNetWait
	}
	tries := min(max(int(budget/dhcpTry/4), 2), 5) // each try may be a DISCOVER and a REQUEST
	ip, _ := config.ParseIP(s.cfg.KernelIP)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make(chan leaseResult, len(links))
	t0 := time.Now()
	s.log.Printf("net: %s on %s", map[bool]string{false: "DHCP", true: "DHCPv6"}[ip.V6], linkList(links))
	for _, l := range links {
		nl, err := netlink.LinkByName(l.Name)
		if err != nil {
			results <- leaseResult{err: fmt.Errorf("%s: %w", l.Name, err)}
			continue
		}
		klog.GoSafe(s.log, "DHCP on "+l.Name, func() {
			r := leaseResult{link: nl}
			if ip.V6 {
				r.v6, r.from, r.err = dhcp6(ctx, nl, dhcpTry, tries)
			} else {
				r.v4, r.err = dhcp4(ctx, nl, dhcpTry, tries)
			}
			results <- r
		})
	}
	var errs []string
	for range links {
		r := <-results
		switch {
		case r.err != nil && r.link != nil:
			errs = append(errs, r.link.Attrs().Name+": "+r.err.Error())
		case r.err != nil:
			errs = append(errs, r.err.Error())
		case r.v6 != nil:
			cancel()
			return takeLease6(s, r.link, r.v6, r.from, links, time.Since(t0))
		default:
			cancel()
			return takeLease(s, dhclient.NewPacket4(r.link, r.v4), links, time.Since(t0))
		}
	}
	if ip.V6 {
		return &bootError{Device: linkList(links), Err: fmt.Errorf("no DHCPv6 answer on each link (%s)", strings.Join(errs, "; ")),
			Hint: "is a stateful DHCPv6 server on this network (one that hands out addresses: dnsmasq's dhcp-range=fd00::100,fd00::1ff with enable-ra)? Or use DHCPv4 (ip=dhcp), a static address (ip=CLIENT::GATEWAY:NETMASK::IFACE:off), or name the NIC on the server's network with sandbox.net="}
	}
	return &bootError{Device: linkList(links), Err: fmt.Errorf("no DHCP answer after %d tries of %v on each link (%s)", tries, dhcpTry, strings.Join(errs, "; ")),
		Hint: "is a DHCP server on this network? Give a static address with ip=CLIENT::GATEWAY:NETMASK::IFACE:off, or name the NIC on the DHCP server's network with sandbox.net="}
}

// leaseResult is one link's DHCP answer (v4 or v6, from the server at
// from), or why there is none.
type leaseResult struct {
	link netlink.Link
	v4   *dhcpv4.DHCPv4
	v6   *dhcpv6.Message
	from net.Addr
	err  error
}

// takeLease configures the lease's address and routes on its link.
func takeLease(s *sandbox, lease *dhclient.Packet4, links []netLink, took time.Duration) error {
	name := lease.Link().Attrs().Name
	l := pickedLink(name, links)
	_ = os.MkdirAll("/etc", 0o755) // the lease writes /etc/resolv.conf
	if err := lease.Configure(); err != nil {
		return &bootError{Device: l.String(), Err: fmt.Errorf("configuring the DHCP lease: %w", err)}
	}
	st := &state.Net{Iface: name, MAC: l.MAC, Address: lease.Lease().String(), Server: lease.P.ServerIdentifier().String()}
	if gw := lease.P.Router(); len(gw) > 0 {
		st.Gateway = gw[0].String()
	}
	s.state.Net = st
	s.log.Printf("net: %s: %s by DHCP from %s in %v%s", l, st.Address, st.Server, took.Round(time.Millisecond), gatewaySays(st.Gateway))
	if s.cfg.URL == config.DHCPURL {
		return urlFromDHCP(s, lease.P)
	}
	return nil
}

// urlFromDHCP sets sandbox.url=dhcp's URL from the lease's boot file or
// boot server (dhcpBootURL).
func urlFromDHCP(s *sandbox, p *dhcpv4.DHCPv4) error {
	file := p.BootFileNameOption()
	if file == "" {
		file = p.BootFileName
	}
	next, _ := netip.AddrFromSlice(p.ServerIPAddr.To4())
	u, err := dhcpBootURL(file, next)
	if err != nil {
		return &bootError{Device: "DHCP server " + p.ServerIdentifier().String(), Err: fmt.Errorf("sandbox.url=dhcp: the DHCP answer %w", err),
			Hint: "point the DHCP server's boot file at the tree's http://…/boot.ipxe (dnsmasq: dhcp-boot=), or set its next-server to the web server; or give sandbox.url=http://…"}
	}
	s.cfg.URL = u
	server := "none"
	if next.IsValid() && !next.IsUnspecified() {
		server = next.String()
	}
	s.log.Printf("net: sandbox.url=dhcp: the DHCP answer's boot file %q, boot server %s: the image is %s", file, server, u)
	return nil
}
