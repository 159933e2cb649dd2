package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/nbd"
)

// DefaultNetWait is the download's whole budget when sandbox.netwait is
// not given: long enough to outlast a web server's restart, short enough
// that a machine with no server says so within minutes.
const DefaultNetWait = 2 * time.Minute

// HTTPS tells whether a sandbox.url has an https:// mirror.
func (c Config) HTTPS() bool {
	for _, u := range strings.Split(c.URL, ",") {
		if strings.HasPrefix(strings.TrimSpace(u), "https://") {
			return true
		}
	}
	return false
}

// netParams are the network boot's sandbox.* keys, after the others in
// the README's table.
var netParams = []param{
	{"url", "dhcp (the DHCP answer's boot file or boot server), http://host/path/image or https://…, or several such URLs separated by commas (mirrors, tried in order); IMAGE.verity beside each is its hash tree; https:// needs an initramfs built with mklive -ca; or nbd://HOST[:PORT]/EXPORT (read on demand, EXPORT.verity its hash tree)", setURL},
	{"net", "auto (every Ethernet link at once), an interface name (eth0, enp0s3) or a MAC address (52:54:00:12:34:56)", setNet},
	{"netwait", "the download's whole budget, retries included: a duration from 1s to 1h (2m when not given)", func(c *Config, v string) error {
		return setDuration(&c.NetWait, v, func(d time.Duration) bool { return d >= time.Second })
	}},
}

func init() { params = append(params, netParams...) }

// DHCPURL is sandbox.url's value that takes the URL from the DHCP answer:
// its boot file's directory when that is an http(s):// URL, else the web
// root of its boot server (next-server), with LiveOS/squashfs.img, the
// path mklive netboot serves the image at.
const DHCPURL = "dhcp"

func setURL(c *Config, v string) error {
	c.URL = v
	if v == "" {
		return errors.New("is empty")
	}
	if v == DHCPURL {
		return nil
	}
	if strings.HasPrefix(v, "nbd:") {
		if strings.Contains(v, ",") {
			return errors.New("has several URLs: mirrors are for http://; give one nbd://HOST[:PORT]/EXPORT")
		}
		_, err := nbd.ParseURL(v)
		return err
	}
	for _, u := range strings.Split(v, ",") {
		p, err := url.Parse(u)
		switch {
		case err != nil:
			return fmt.Errorf("has a URL that does not parse: %v", err)
		case p.Scheme != "http" && p.Scheme != "https" || p.Host == "" || p.Path == "" || strings.HasSuffix(p.Path, "/"):
			return fmt.Errorf("has %q, not an http:// or https:// URL of a file", u)
		}
	}
	return nil
}

func setNet(c *Config, v string) error {
	c.Net = v
	if v == "auto" {
		return nil
	}
	if _, err := net.ParseMAC(v); err == nil {
		c.Net = strings.ToLower(v)
		return nil
	}
	if len(v) > 15 || v == "" || strings.ContainsAny(v, "/: \t") {
		return errors.New("is not auto, an interface name or a MAC address")
	}
	return nil
}

// NBD tells a network boot whose image is read on demand from an NBD
// export (sandbox.url=nbd://…) rather than fetched into RAM.
func (c Config) NBD() bool { return strings.HasPrefix(c.URL, "nbd:") }

// BootIF reads PXELINUX's BOOTIF=01-52-54-00-12-34-56 (ARP type 1, then
// the MAC): the NIC the firmware booted from.
func BootIF(v string) (string, error) {
	mac, ok := strings.CutPrefix(v, "01-")
	if !ok {
		return "", errors.New("is not 01- and a MAC address with dashes")
	}
	hw, err := net.ParseMAC(strings.ReplaceAll(mac, "-", ":"))
	if err != nil || len(hw) != 6 {
		return "", errors.New("is not 01- and a MAC address with dashes")
	}
	return hw.String(), nil
}

// IP is the kernel's ip= parameter as far as sandbox-init honours it:
// DHCPv4 (ip=dhcp, ip=on, ip=any, ip=IFACE:dhcp), DHCPv6 as dracut spells
// it (ip=dhcp6, ip=IFACE:dhcp6) or a static address
// (ip=CLIENT::GATEWAY:NETMASK:HOSTNAME:IFACE:off). No ip= is DHCPv4 alone,
// as ip=dhcp is in the kernel and in dracut: a DHCPv4 network's boot
// waits for nothing more than before.
type IP struct {
	Static  netip.Prefix // the address and its netmask; invalid for DHCP
	Gateway netip.Addr   // may be invalid: none
	Iface   string       // "" for every link
	V6      bool         // DHCPv6 instead of DHCPv4
}

// ParseIP reads an ip= value.
func ParseIP(v string) (IP, error) {
	switch v {
	case "dhcp", "on", "any", "both":
		return IP{}, nil
	case "dhcp6":
		return IP{V6: true}, nil
	}
	f := strings.Split(v, ":")
	if len(f) == 2 && (f[1] == "dhcp" || f[1] == "dhcp6") {
		return IP{Iface: f[0], V6: f[1] == "dhcp6"}, nil
	}
	if len(f) < 4 {
		return IP{}, errors.New("is not dhcp, dhcp6, IFACE:dhcp, IFACE:dhcp6 or CLIENT::GATEWAY:NETMASK:HOSTNAME:IFACE:off")
	}
	for len(f) < 7 {
		f = append(f, "")
	}
	if f[6] != "off" && f[6] != "none" && f[6] != "" {
		return IP{}, fmt.Errorf("asks for autoconf %q with a static address; give off", f[6])
	}
	addr, err := netip.ParseAddr(f[0])
	mask := net.ParseIP(f[3]).To4()
	if err != nil || !addr.Is4() || mask == nil {
		return IP{}, errors.New("has no IPv4 client address and netmask (CLIENT::GATEWAY:NETMASK:HOSTNAME:IFACE:off)")
	}
	ones, bits := net.IPMask(mask).Size()
	if bits == 0 {
		return IP{}, fmt.Errorf("has the netmask %s, which is not one", f[3])
	}
	ip := IP{Static: netip.PrefixFrom(addr, ones), Iface: f[5]}
	if f[2] != "" {
		if ip.Gateway, err = netip.ParseAddr(f[2]); err != nil || !ip.Gateway.Is4() {
			return IP{}, fmt.Errorf("has the gateway %q, not an IPv4 address", f[2])
		}
	}
	return ip, nil
}

// setKernelNet takes ip= and BOOTIF=, which the kernel and PXELINUX
// define; they matter only to a network boot.
func (c *Config) setKernelNet(key, val string) error {
	var err error
	switch key {
	case "ip":
		if _, err = ParseIP(val); err == nil {
			c.KernelIP = val
		}
	case "BOOTIF":
		c.BootIF, err = BootIF(val)
	}
	if err != nil {
		return &ParamError{Key: key, Value: val, Problem: err.Error()}
	}
	return nil
}

// checkNet refuses network keys without sandbox.url, and a URL with a
// medium named too.
func (c *Config) checkNet(seen map[string]bool) error {
	if c.URL == "" {
		for _, k := range []string{"net", "netwait"} {
			if seen[Prefix+k] {
				return &ParamError{Key: Prefix + k, Problem: "only applies with sandbox.url", Accepts: "sandbox.url=http://… with sandbox." + k}
			}
		}
		return nil
	}
	if ip, _ := ParseIP(c.KernelIP); c.URL == DHCPURL && ip.Static.IsValid() {
		return &ParamError{Key: Prefix + "url", Value: c.URL, Problem: "takes the URL from the DHCP answer, and ip= gives a static address (no DHCP)",
			Accepts: "sandbox.url=http://… with a static ip=, or ip=dhcp"}
	}
	for _, k := range []string{"cd", "iso", "origin", "image"} {
		if seen[Prefix+k] {
			return &ParamError{Key: Prefix + "url", Value: c.URL, Problem: "takes the image from the network, so sandbox." + k + " cannot be given with it",
				Accepts: "sandbox.url= alone, or a medium"}
		}
	}
	return nil
}

// renderNet adds the network keys to Params' map.
func (c Config) renderNet(p map[string]string) {
	if c.URL == "" {
		return
	}
	p["url"] = c.URL
	if c.Net != "" {
		p["net"] = c.Net
	}
	if c.NetWait != 0 {
		p["netwait"] = c.NetWait.String()
	}
	delete(p, "cd")
	delete(p, "image") // the URL names the image
}
