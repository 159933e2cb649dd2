package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// netLink is an Ethernet interface as sysfs shows it.
type netLink struct {
	Name, MAC, Driver string
	Carrier           bool
}

func (l netLink) String() string {
	s := l.Name + " (" + l.MAC
	if l.Driver != "" {
		s += ", " + l.Driver
	}
	return s + ")"
}

// pickLinks narrows links to the one sandbox.net, BOOTIF= or ip=IFACE
// names (by name or MAC); all of them when none is named. want says what
// was asked for, for a failure's message.
func pickLinks(links []netLink, c config.Config) (picked []netLink, want string) {
	want = c.Net
	if want == "" || want == "auto" {
		want = c.BootIF
	}
	if want == "" {
		if ip, err := config.ParseIP(c.KernelIP); err == nil {
			want = ip.Iface
		}
	}
	for _, l := range links {
		if want == "" || l.Name == want || strings.EqualFold(l.MAC, want) {
			picked = append(picked, l)
		}
	}
	sort.Slice(picked, func(i, j int) bool { return picked[i].Name < picked[j].Name })
	return picked, want
}

// linkList names links for a message: "eth0 (52:54:00:12:34:56, virtio_net), eth1 (…)".
func linkList(links []netLink) string { return listOrNone(links) }

// listOrNone joins xs for a message, "none" when there are none.
func listOrNone[T fmt.Stringer](xs []T) string {
	if len(xs) == 0 {
		return "none"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

// pciNetClass tells a PCI network controller by its class ("0x020000").
func pciNetClass(class string) bool { return strings.HasPrefix(class, "0x02") }

// progressLine is a download's progress as the console shows it.
func progressLine(done, total int64, rate float64, left string) string {
	if total <= 0 {
		return fmt.Sprintf("net: %s at %s/s", config.HumanBytes(uint64(done)), config.HumanBytes(uint64(rate)))
	}
	return fmt.Sprintf("net: %d%% (%s of %s) at %s/s, %s left", done*100/total, config.HumanBytes(uint64(done)),
		config.HumanBytes(uint64(total)), config.HumanBytes(uint64(rate)), left)
}

// dhcpBootURL is the image's URL that sandbox.url=dhcp takes from a DHCP
// answer: beside its boot file when that is an http(s):// URL (the
// boot.ipxe of a mklive netboot tree, as iPXE clients are pointed at it),
// else at the web root of its boot server (next-server), where mklive
// netboot's default boot.ipxe looks too; the image at the tree's path.
func dhcpBootURL(bootfile string, next netip.Addr) (string, error) {
	const image = "/LiveOS/squashfs.img"
	if u, err := url.Parse(bootfile); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		u.Path = strings.TrimSuffix(path.Dir(u.Path), "/") + image
		u.RawQuery, u.Fragment = "", ""
		return u.String(), nil
	}
	if next.IsValid() && !next.IsUnspecified() {
		return "http://" + next.String() + image, nil
	}
	return "", fmt.Errorf("names no http(s):// boot file (it says %q) and no boot server (next-server)", bootfile)
}
