package vmtests

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// netServer is the address the guest reaches the test's web server at:
// QEMU forwards it (guestfwd) to a server on the host's loopback.
const netServer = "http://10.0.2.100"

// netInitramfs is the kernel's default initramfs with the NIC drivers, as
// mklive -net makes it.
var netInitramfs = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, name := range []string{testvm.Cloud12, testvm.Std12} {
		path := filepath.Join(built.dir, "initramfs-net-"+name+".img")
		_, err := defaultInitramfs(built.kernels[name].kernel, path, func(s *mklive.InitramfsSpec) {
			s.Optional = append(s.Optional, config.NetDrivers...)
		})
		if err != nil {
			panic(err)
		}
		out[name] = path
	}
	return out
})

// netSite is a web server's directory: the canary root's container and its
// hash tree as LiveOS/squashfs.img{,.verity}, and the root hash.
type netSite struct {
	dir, image, root string
	block            uint64 // the data block damage flips a bit in
}

func makeNetSite(t *testing.T) netSite {
	t.Helper()
	v := makeVerityCD(t, true, true)
	site := netSite{dir: filepath.Join(t.TempDir(), "www"), root: v.root}
	site.image = filepath.Join(site.dir, "LiveOS", "squashfs.img")
	put(t, v.image, site.image)
	put(t, filepath.Join(filepath.Dir(v.iso), "image.verity"), site.image+".verity")
	return site
}

// damage flips one bit of the canary in the served container.
func (n *netSite) damage(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(n.image)
	if err != nil {
		t.Fatal(err)
	}
	at := strings.Index(string(b), string(canaryNeedle()))
	if at < 0 {
		t.Fatal("the canary is not in the container byte for byte")
	}
	b[at+10] ^= 0x04
	n.block = uint64(at+10) / 4096
	if err := os.WriteFile(n.image, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// busybox is busybox httpd run by QEMU for each connection (inetd mode):
// the simplest server, with Range.
func (n netSite) busybox() testvm.Net {
	return testvm.Net{Forward: []string{"tcp:10.0.2.100:80-cmd:busybox httpd -i -h " + n.dir}}
}

// netVM boots the cloud kernel (or kernel) with the network initramfs, with
// the RAM toram's rule asks for (the image, the COW store and 512 MiB).
func netVM(kernel string, nets []testvm.Net, params ...string) vm {
	if kernel == "" {
		kernel = testvm.Cloud12
	}
	return vm{kernel: kernel, initramfs: netInitramfs()[kernel], nets: nets, qemu: []string{"-m", "1024"}, append: append([]string{"sandbox.cowsize=64M"}, params...)}
}

// TestNetBoot: the container and its hash tree from a web server, into
// RAM, each block checked as it comes, booted to the real init; on the
// cloud kernel with virtio-net and on Debian 12's standard kernel with an
// e1000e card.
func TestNetBoot(t *testing.T) {
	site := makeNetSite(t)
	url := netServer + "/LiveOS/squashfs.img"
	for _, tc := range []struct{ kernel, model, driver string }{
		{testvm.Cloud12, "virtio-net-pci", "virtio_net"},
		{testvm.Std12, "e1000e", "e1000e"},
	} {
		t.Run(tc.kernel, func(t *testing.T) {
			n := site.busybox()
			n.Model = tc.model
			c := bootVM(t, netVM(tc.kernel, []testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root))
			for _, want := range []string{
				", " + tc.driver + "): 10.0.2.15/24 by DHCP from 10.0.2.2",
				"sandbox-init: net: " + url + ".verity: hash tree",
				"sandbox-init: net: " + url + ": ",
				"every block checked against its hash tree as it came",
				"realinit: first line",
			} {
				if !c.contains(want) {
					t.Errorf("console lacks %q", want)
				}
			}
			st := c.mustGuest(t, "state")
			for _, want := range []string{`"image_in_ram":"/run/sandbox/toram/squashfs.img"`, `"net":{"iface":"eth0"`, `"url":"` + url + `"`, `"verity":{`} {
				if !strings.Contains(st, want) {
					t.Errorf("state lacks %s: %s", want, st)
				}
			}
		})
	}
}

// TestNetFailures: each way a network boot fails ends in phase net with
// the URL or the link named.
func TestNetFailures(t *testing.T) {
	site := makeNetSite(t)
	url := netServer + "/LiveOS/squashfs.img"
	verity := "sandbox.verity=" + site.root
	t.Run("FlippedByte", func(t *testing.T) {
		bad := site
		bad.dir = filepath.Join(t.TempDir(), "www")
		bad.image = filepath.Join(bad.dir, "LiveOS", "squashfs.img")
		put(t, site.image, bad.image)
		put(t, site.image+".verity", bad.image+".verity")
		bad.damage(t)
		expectFailure(t, netVM("", []testvm.Net{bad.busybox()}, "sandbox.url="+url, verity), "net",
			fmt.Sprintf("INTEGRITY: block %d of the image from %s does not match its hash tree", bad.block, url))
	})
	t.Run("NotFound", func(t *testing.T) {
		expectFailure(t, netVM("", []testvm.Net{site.busybox()}, "sandbox.url="+netServer+"/LiveOS/nothing.img", verity), "net",
			netServer+"/LiveOS/nothing.img.verity: HTTP 404", "the file is not on the server at that path")
	})
	t.Run("NoServer", func(t *testing.T) {
		// Forwarded to a loopback port nothing listens on.
		n := testvm.Net{Forward: []string{fmt.Sprintf("tcp:10.0.2.100:80-tcp:127.0.0.1:%d", freePort(t))}}
		expectFailure(t, netVM("", []testvm.Net{n}, "sandbox.url="+url, verity, "sandbox.netwait=6s"), "net",
			"gave up after", "(our address 10.0.2.15/24 on eth0", "is the web server up")
	})
	t.Run("NoDHCP", func(t *testing.T) {
		expectFailure(t, netVM("", []testvm.Net{{DeadPort: freePort(t)}}, "sandbox.url="+url, verity, "sandbox.netwait=6s"), "net",
			"no DHCP answer after 2 tries", "is a DHCP server on this network?")
	})
}

// freePort is a loopback TCP port nothing listens on (just closed).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
