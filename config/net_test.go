package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestNetParams(t *testing.T) {
	c, err := Parse("sandbox.url=http://10.0.2.100/LiveOS/squashfs.img,http://m2/x.img sandbox.net=52:54:00:AB:CD:EF sandbox.netwait=30s BOOTIF=01-52-54-00-12-34-56 ip=eth0:dhcp")
	if err != nil || c.URL != "http://10.0.2.100/LiveOS/squashfs.img,http://m2/x.img" || c.Net != "52:54:00:ab:cd:ef" || c.NetWait != 30*time.Second ||
		c.BootIF != "52:54:00:12:34:56" || c.KernelIP != "eth0:dhcp" {
		t.Fatalf("%+v %v", c, err)
	}
	if d, err := Parse("sandbox.url=dhcp ip=eth0:dhcp"); err != nil || d.URL != DHCPURL {
		t.Errorf("sandbox.url=dhcp: %+v, %v", d, err)
	}
	if s, err := Parse("sandbox.url=http://a/b,https://m/x.img"); err != nil || !s.HTTPS() || c.HTTPS() {
		t.Errorf("an https:// mirror: %v, HTTPS %v; http:// counted as https %v", err, s.HTTPS(), c.HTTPS())
	}
	for line, want := range map[string]string{
		"sandbox.url=ftp://a/b":                          "not an http:// or https:// URL",
		"sandbox.url=http://a/":                          "not an http:// or https:// URL",
		"sandbox.net=eth0":                               "only applies with sandbox.url",
		"sandbox.url=http://a/b sandbox.cd=/dev/sr0":     "sandbox.cd cannot be given",
		"sandbox.url=http://a/b sandbox.netwait=100ms":   "out of range",
		"sandbox.url=http://a/b sandbox.net=a/b":         "not auto",
		"sandbox.url=dhcp ip=10.0.0.2:::255.255.255.0":   "static address (no DHCP)",
		"BOOTIF=52-54-00-12-34-56":                       "01-",
		"ip=10.0.0.2::10.0.0.1:255.0.255.0::eth0:off":    "not one",
		"ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:dhcp": "autoconf",
		"sandbox.url=nbd://10.0.2.100":                   "names no export",
		"sandbox.url=nbd://a/x,nbd://b/x":                "mirrors are for http://",
	} {
		if _, err := Parse(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", line, err, want)
		}
	}
}

func TestNBDParams(t *testing.T) {
	c, err := Parse("sandbox.url=nbd://10.0.2.100/squashfs.img sandbox.netwait=30s")
	if err != nil || !c.NBD() || c.URL != "nbd://10.0.2.100/squashfs.img" {
		t.Fatalf("%+v %v", c, err)
	}
	c, _ = Parse("sandbox.url=http://a/b")
	if c.NBD() {
		t.Errorf("an HTTP boot is taken for NBD: %+v", c)
	}
}

func TestParseIP(t *testing.T) {
	ip, err := ParseIP("10.0.2.15::10.0.2.2:255.255.255.0:box:eth1:off")
	if err != nil || ip.Static != netip.MustParsePrefix("10.0.2.15/24") || ip.Gateway != netip.MustParseAddr("10.0.2.2") || ip.Iface != "eth1" {
		t.Fatalf("%+v %v", ip, err)
	}
	if ip, err := ParseIP("dhcp"); err != nil || ip.Static.IsValid() || ip.Iface != "" {
		t.Errorf("dhcp: %+v %v", ip, err)
	}
	for v, want := range map[string]IP{"dhcp6": {V6: true}, "eth1:dhcp6": {Iface: "eth1", V6: true}, "eth1:dhcp": {Iface: "eth1"}, "on": {}} {
		if ip, err := ParseIP(v); err != nil || ip != want {
			t.Errorf("ParseIP(%q) = %+v, %v; want %+v", v, ip, err, want)
		}
	}
	for _, v := range []string{"dhcp7", "eth0:dhcp6:x", "10.0.0.2::10.0.0.1:255.255.255.0::eth0:dhcp6", "auto6"} {
		if ip, err := ParseIP(v); err == nil {
			t.Errorf("ParseIP(%q) = %+v, accepted", v, ip)
		}
	}
	if ip, err := ParseIP("10.0.0.9:::255.255.0.0"); err != nil || ip.Static.Bits() != 16 || ip.Gateway.IsValid() {
		t.Errorf("no gateway: %+v %v", ip, err)
	}
}

// FuzzParseIP: an ip= ParseIP accepts asks for DHCPv6 exactly when it
// ends in dhcp6, and a static address only for DHCP of neither kind: an
// IPv4 address with a netmask of at most 32 bits.
func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"dhcp", "dhcp6", "eth0:dhcp6", ":dhcp6", "10.0.2.15::10.0.2.2:255.255.255.0:box:eth1:off", "fd00::5::fd00::1:64", "on", "eth0:dhcp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ip, err := ParseIP(v)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		if ip.V6 != strings.HasSuffix(v, "dhcp6") {
			t.Errorf("ParseIP(%q): V6 %v", v, ip.V6)
		}
		if ip.Static.IsValid() && (ip.V6 || !ip.Static.Addr().Is4() || ip.Static.Bits() > 32) || !ip.Static.IsValid() && ip.Gateway.IsValid() {
			t.Errorf("ParseIP(%q) = %+v", v, ip)
		}
		if strings.Contains(ip.Iface, ":") {
			t.Errorf("ParseIP(%q): interface %q", v, ip.Iface)
		}
	})
}
