package main

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
)

func TestPickLinks(t *testing.T) {
	links := []netLink{{Name: "eth1", MAC: "52:54:00:00:00:02"}, {Name: "eth0", MAC: "52:54:00:00:00:01"}}
	names := func(ls []netLink) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Name)
		}
		return out
	}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"sandbox.url=http://a/b", []string{"eth0", "eth1"}},
		{"sandbox.url=http://a/b sandbox.net=eth1", []string{"eth1"}},
		{"sandbox.url=http://a/b sandbox.net=52:54:00:00:00:01", []string{"eth0"}},
		{"sandbox.url=http://a/b BOOTIF=01-52-54-00-00-00-02", []string{"eth1"}},
		{"sandbox.url=http://a/b ip=eth0:dhcp", []string{"eth0"}},
		{"sandbox.url=http://a/b sandbox.net=eth7", nil},
	} {
		c, err := config.Parse(tc.line)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := pickLinks(links, c); !reflect.DeepEqual(names(got), tc.want) {
			t.Errorf("%s: %v, want %v", tc.line, names(got), tc.want)
		}
	}
}

// TestDHCPBootURL: sandbox.url=dhcp's image beside an http(s):// boot
// file, else on the boot server's web root, else none.
func TestDHCPBootURL(t *testing.T) {
	next := netip.MustParseAddr("10.0.2.2")
	for _, tc := range []struct {
		file string
		next netip.Addr
		want string
	}{
		{"http://10.0.2.100/live/boot.ipxe", next, "http://10.0.2.100/live/LiveOS/squashfs.img"},
		{"https://boot.lan:8443/boot.ipxe?x=1", netip.Addr{}, "https://boot.lan:8443/LiveOS/squashfs.img"},
		{"pxelinux.0", next, "http://10.0.2.2/LiveOS/squashfs.img"},
		{"", next, "http://10.0.2.2/LiveOS/squashfs.img"},
		{"pxelinux.0", netip.IPv4Unspecified(), ""},
		{"", netip.Addr{}, ""},
		{"http://[fd00::1]/boot.ipxe", netip.Addr{}, "http://[fd00::1]/LiveOS/squashfs.img"}, // DHCPv6's option 59: no next-server
		{"tftp://[fd00::1]/boot.ipxe", netip.Addr{}, ""},
	} {
		got, err := dhcpBootURL(tc.file, tc.next)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("dhcpBootURL(%q, %v) = %q, %v; want %q", tc.file, tc.next, got, err, tc.want)
		}
	}
}
