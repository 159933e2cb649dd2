package testvm

import (
	"fmt"
	"strings"
)

// Net is a network card. On QEMU's user network with restrict=on (the
// default) the guest gets a DHCP lease (10.0.2.15 from 10.0.2.2, no router)
// and reaches nothing but the Forward rules, which lead to loopback or to a
// command on the host: no test ever reaches beyond this machine.
type Net struct {
	Model string // the card: "virtio-net-pci" (default), "e1000e", "e1000"
	MAC   string // "" for QEMU's default
	// Forward are guestfwd rules: "tcp:10.0.2.100:80-cmd:busybox httpd
	// -i -h DIR" (a server per connection) or
	// "tcp:10.0.2.100:80-tcp:127.0.0.1:8080".
	Forward []string
	// DeadPort, when not 0, puts the card on a UDP socket to
	// 127.0.0.1:DeadPort instead: a link with carrier on which nothing
	// answers (no DHCP).
	DeadPort int
	// TFTP serves a directory by QEMU's TFTP for a PXE boot; BootFile is
	// the DHCP answer's boot file (a name on the TFTP server, or a URL).
	TFTP, BootFile string
}

// args returns QEMU's arguments for the card; n makes its id unique.
func (n Net) args(i int) []string {
	id := fmt.Sprintf("net%d", i)
	backend := "user,id=" + id + ",restrict=on"
	if n.DeadPort != 0 {
		backend = fmt.Sprintf("socket,id=%s,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d", id, n.DeadPort, n.DeadPort+1)
	}
	for _, f := range n.Forward {
		backend += ",guestfwd=" + strings.ReplaceAll(f, ",", ",,")
	}
	if n.TFTP != "" {
		backend += ",tftp=" + n.TFTP
	}
	if n.BootFile != "" { // the DHCP answer's boot file: a TFTP name, or a URL
		backend += ",bootfile=" + n.BootFile
	}
	model := n.Model
	if model == "" {
		model = "virtio-net-pci"
	}
	dev := model + ",netdev=" + id
	if n.MAC != "" {
		dev += ",mac=" + n.MAC
	}
	return []string{"-netdev", backend, "-device", dev}
}
