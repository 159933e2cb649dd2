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
	if ip, err := ParseIP("10.0.0.9:::255.255.0.0"); err != nil || ip.Static.Bits() != 16 || ip.Gateway.IsValid() {
		t.Errorf("no gateway: %+v %v", ip, err)
	}
}
