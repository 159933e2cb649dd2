package vmtests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
	"github.com/u-root/u-root/pkg/cpio"
)

// dhcp6Server is the /init of the DHCPv6 server's machine: the NIC's
// driver, fd00::1/64 on it, busybox httpd serving /www, and Debian's
// dnsmasq answering router solicitations (the on-link prefix, the
// router) and stateful DHCPv6 (an address of its range, the DNS server,
// the boot file URL).
const dhcp6Server = `#!/bin/sh
/bin/busybox mkdir -p /proc /sys /tmp /usr/bin /sbin /usr/sbin
/bin/busybox --install -s /bin
export PATH=/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
modprobe virtio_pci
modprobe virtio_net
ip link set lo up
echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad
ip link set eth0 up
ip -6 addr add fd00::1/64 dev eth0
httpd -p 80 -h /www
dnsmasq -k -C /etc/dnsmasq.conf
echo "dnsmasq stopped"
poweroff -f
`

const dhcp6Conf = `interface=eth0
port=0
enable-ra
dhcp-range=fd00::100,fd00::1ff,64,1h
dhcp-option=option6:bootfile-url,http://[fd00::1]/boot.ipxe
dhcp-option=option6:dns-server,[fd00::53]
dhcp-leasefile=/tmp/dnsmasq.leases
pid-file=
user=root
group=root
log-dhcp
log-facility=-
`

// dhcp6ServerInitramfs is the server's initramfs: an uncompressed archive
// with dnsmasq and its shared libraries as ldd lists them, its
// configuration and the site in /www, then mklive's (the kernel unpacks
// one after the other, as an early microcode archive is put first) with
// the shell script as /init, busybox and the NIC's driver.
func dhcp6ServerInitramfs(t *testing.T, site netSite) string {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "init.sh")
	if err := os.WriteFile(script, []byte(dhcp6Server), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "server.img")
	if _, err := mklive.BuildInitramfs(mklive.InitramfsSpec{Init: script, Kernel: built.kernels[testvm.Cloud12].kernel,
		Required: []string{"virtio_pci", "virtio_net"}, Shell: mklive.BusyboxBinary, Compression: "gzip", Out: out}); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"usr/sbin/dnsmasq": "/usr/sbin/dnsmasq",
		"www/LiveOS/squashfs.img": site.image, "www/LiveOS/squashfs.img.verity": site.image + ".verity"}
	ldd, err := exec.Command("ldd", "/usr/sbin/dnsmasq").Output()
	if err != nil {
		t.Fatalf("ldd dnsmasq (scripts/setup.sh installs dnsmasq-base): %v", err)
	}
	for _, m := range regexp.MustCompile(`(/\S+\.so[.0-9]*) \(0x`).FindAllStringSubmatch(string(ldd), -1) {
		files[strings.TrimPrefix(m[1], "/")] = m[1]
	}
	recs := []cpio.Record{
		cpio.StaticFile("etc/dnsmasq.conf", dhcp6Conf, 0o644),
		cpio.StaticFile("etc/passwd", "root:x:0:0:root:/:/bin/sh\n", 0o644),
		cpio.StaticFile("etc/group", "root:x:0:\n", 0o644),
	}
	for name, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, cpio.StaticFile(name, string(b), 0o755))
	}
	var raw bytes.Buffer
	w := cpio.Newc.Writer(&raw)
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	raw.Write(make([]byte, 511-(raw.Len()+511)%512)) // to a 512-byte block, as cpio(1) pads
	packed, err := os.ReadFile(out)
	if err == nil {
		err = os.WriteFile(out, append(raw.Bytes(), packed...), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// startDHCP6Server boots the server's machine on a UDP socket pair with
// the client's card (testvm.Net's DeadPort: the client sends to port,
// listens on port+1) and waits until dnsmasq serves. stop ends it and
// returns what its console showed.
func startDHCP6Server(t *testing.T, initramfs string, port int) (stop func() string) {
	t.Helper()
	ready, done, out := make(chan error, 1), make(chan struct{}), make(chan string, 1)
	m := testvm.Machine{Name: t.Name() + "/server", Kernel: built.kernels[testvm.Cloud12].kernel.Vmlinuz(), Initramfs: initramfs,
		Append: []string{"console=ttyS0", "quiet", "panic=-1"}, MemoryMiB: 256, Timeout: 180 * time.Second,
		QEMU: []string{"-netdev", fmt.Sprintf("socket,id=s0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d", port+1, port),
			"-device", "virtio-net-pci,netdev=s0,mac=52:54:00:00:00:01"},
		Session: func(s *testvm.Session) {
			ready <- s.Expect("DHCPv6, IP range fd00::100 -- fd00::1ff")
			<-done
			s.Stop()
		}}
	go func() {
		c, err := testvm.Run(m, nil)
		if err != nil {
			c.Text += "\n" + err.Error()
		}
		out <- c.Text
	}()
	if err := <-ready; err != nil {
		close(done)
		t.Fatalf("the DHCPv6 server did not start: %v\n%s", err, <-out)
	}
	stop = sync.OnceValue(func() string {
		close(done)
		return <-out
	})
	t.Cleanup(func() { stop() }) // a client's boot that ends the test ends the server too
	return stop
}

// TestNetDHCPv6: with ip=dhcp6 the init gets a stateful DHCPv6 lease
// from Debian's dnsmasq running in a second machine, wired to this one by
// a UDP socket pair on loopback (QEMU's user network has no stateful
// DHCPv6): the address from the server's range with the on-link prefix
// of its router advertisement, and sandbox.url=dhcp from the boot file
// URL (option 59), the image fetched over IPv6 alone from an IPv6 literal
// URL and booted to the real init. And with no DHCPv6 server on the link,
// the failure in phase net naming the link and the fix.
func TestNetDHCPv6(t *testing.T) {
	site := makeNetSite(t)
	t.Run("Boot", func(t *testing.T) {
		port := freePort(t)
		stop := startDHCP6Server(t, dhcp6ServerInitramfs(t, site), port)
		c := bootVM(t, netVM("", []testvm.Net{{DeadPort: port, MAC: "52:54:00:12:34:56"}}, "ip=dhcp6", "sandbox.url=dhcp", "sandbox.verity="+site.root))
		server := stop()
		url := "http://[fd00::1]/LiveOS/squashfs.img"
		lease := regexp.MustCompile(`net: eth0 \(52:54:00:12:34:56, virtio_net\): (fd00::1[0-9a-f]{2})/64 by DHCPv6 from fe80::[0-9a-f:]+%eth0 in [0-9.]+m?s ` +
			`\(on-link prefix from the router advertisement\), gateway fe80::[0-9a-f:]+, DNS fd00::53`).FindStringSubmatch(c.Text)
		if lease == nil {
			t.Errorf("console lacks the DHCPv6 lease line")
		} else if !strings.Contains(server, "DHCPREPLY(eth0) "+lease[1]+" ") {
			t.Errorf("the server's log lacks its reply with %s:\n%s", lease[1], server)
		}
		for _, want := range []string{
			"sandbox-init: net: DHCPv6 on eth0 (52:54:00:12:34:56, virtio_net)",
			`net: sandbox.url=dhcp: the DHCPv6 answer's boot file URL (option 59) "http://[fd00::1]/boot.ipxe": the image is ` + url,
			"sandbox-init: net: " + url + ".verity: hash tree",
			"every block checked against its hash tree as it came",
			"realinit: first line",
		} {
			if !c.contains(want) {
				t.Errorf("console lacks %q", want)
			}
		}
		if st := c.guestState(t); st.Net == nil || lease != nil && st.Net.Address != lease[1]+"/64" || st.Net.URL != url {
			t.Errorf("state.json: net %+v", st.Net)
		}
		if t.Failed() {
			t.Logf("the server's console:\n%s", server)
		}
	})
	t.Run("NoServer", func(t *testing.T) {
		expectFailure(t, netVM("", []testvm.Net{{DeadPort: freePort(t), MAC: "52:54:00:12:34:56"}}, "ip=dhcp6", "sandbox.url=dhcp", "sandbox.netwait=24s"), "net",
			"sandbox-init:   device: eth0 (52:54:00:12:34:56, virtio_net)",
			"sandbox-init:   error: no DHCPv6 answer on each link (eth0: Solicit sent 2 times, 3s apart, nothing answered)",
			"is a stateful DHCPv6 server on this network", "Or use DHCPv4 (ip=dhcp)")
	})
}
