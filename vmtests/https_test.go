package vmtests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testca"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
	"github.com/sandbox-init/sandbox-init/modpolicy"
)

// tlsInit is sandbox-init built with TLS, as mklive -ca builds it.
var tlsInit = sync.OnceValues(func() (string, error) {
	repo, err := testvm.RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(built.dir, "init-tls")
	return out, mklive.BuildInit(repo, out, mklive.TLSTag)
})

// httpsInitramfs is a kernel's initramfs as mklive initramfs -ca makes
// it: the TLS init, the NIC and RNG drivers, and caPEM as the CA bundle.
func httpsInitramfs(t *testing.T, kernel string, caPEM []byte) string {
	t.Helper()
	init, err := tlsInit()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bundle, out := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "initramfs-https.img")
	if err := os.WriteFile(bundle, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = testvm.DefaultInitramfs(built.kernels[kernel].kernel, init, out, func(s *mklive.InitramfsSpec) {
		s.Optional = append(append(s.Optional, modpolicy.NetDrivers...), modpolicy.RNGDrivers...)
		s.CA = bundle
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNetHTTPS: Debian's nginx serves the container over HTTPS only, with
// a certificate for 10.0.2.100 from a CA the test makes; the guest has
// virtio-rng. The CA in the initramfs: the boot reaches the real init,
// every block checked. Another CA's bundle, the RTC in the year 2000, and
// an initramfs whose init has no TLS each fail in phase net, named.
func TestNetHTTPS(t *testing.T) {
	site := makeNetSite(t)
	ca, err := testca.New("sandbox-init test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue("10.0.2.100")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := srv.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ngx := startNginx(t, site.dir, cert, key)
	n := testvm.Net{Forward: []string{fmt.Sprintf("tcp:10.0.2.100:443-cmd:busybox nc 127.0.0.1 %d", ngx.port)}}
	url := "https://10.0.2.100/LiveOS/squashfs.img"
	good := httpsInitramfs(t, testvm.Cloud12, ca.PEM)
	boot := func(initramfs string, qemu ...string) vm {
		v := netVM("", []testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root)
		v.initramfs, v.qemu = initramfs, append([]string{"-device", "virtio-rng-pci"}, qemu...)
		return v
	}
	t.Run("Boot", func(t *testing.T) {
		for _, tc := range []struct{ kernel, model string }{{testvm.Cloud12, ""}, {testvm.Std12, "e1000e"}} {
			t.Run(tc.kernel, func(t *testing.T) {
				v := boot(good)
				if tc.kernel != testvm.Cloud12 {
					v.initramfs = httpsInitramfs(t, tc.kernel, ca.PEM)
				}
				e := n
				e.Model = tc.model
				v.kernel, v.nets = tc.kernel, []testvm.Net{e}
				checkHTTPSBoot(t, v, ngx, url, site.root)
			})
		}
	})
	t.Run("WrongCA", func(t *testing.T) {
		other, err := testca.New("another CA")
		if err != nil {
			t.Fatal(err)
		}
		expectFailure(t, boot(httpsInitramfs(t, testvm.Cloud12, other.PEM)), "net", "device: "+url+".verity", "error: TLS: the certificate of 10.0.2.100 (CN=10.0.2.100) was issued by "+
			`"CN=sandbox-init test CA,O=sandbox-init tests", which is not the one CA of /etc/ssl/certs/ca-certificates.crt`, "mklive -ca FILE")
	})
	t.Run("Clock2000", func(t *testing.T) {
		// Without sandbox.verity (the image is the first fetch): an
		// https:// image so booted is vouched for by its server's
		// certificate only, which the console says before it comes.
		v := boot(good, "-rtc", "base=2000-01-01")
		v.append = slices.DeleteFunc(v.append, func(a string) bool { return strings.HasPrefix(a, "sandbox.verity=") })
		c := expectFailure(t, v, "net", "sandbox-init: net: no sandbox.verity: the image is as trustworthy as the server whose TLS certificate the CA bundle vouches for; a root hash would check every block too",
			"device: "+url, "error: TLS: the clock says 2000-01-01 ",
			"the certificate of 10.0.2.100 (CN=10.0.2.100) is valid from 20", "this machine's clock is wrong", "set the clock (the RTC")
		if c.contains(url + ".verity") {
			t.Error("a hash tree was asked for without sandbox.verity")
		}
	})
	t.Run("NoTLS", func(t *testing.T) {
		expectFailure(t, boot(netInitramfs[testvm.Cloud12]()), "net", "device: "+url, "error: sandbox.url is https://, and this initramfs's sandbox-init was built without TLS", "mklive -ca FILE")
	})
}

// checkHTTPSBoot boots v, whose sandbox.url is url on ngx over HTTPS with
// the root hash root, and checks that the image came over TLS, every block
// checked, to the real init, with no wait for the random pool.
func checkHTTPSBoot(t *testing.T, v vm, ngx *nginx, url, root string) {
	t.Helper()
	before, _ := os.ReadFile(ngx.logs)
	c := bootVM(t, v)
	for _, want := range []string{"sandbox-init: net: TLS: the server's certificate must come from the one CA of /etc/ssl/certs/ca-certificates.crt (mklive -ca)",
		"sandbox-init: net: " + url + ".verity: hash tree", "sandbox-init: net: " + url + ": ", "every block checked against its hash tree as it came", "realinit: first line"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`net: (TLS waits for the kernel's random pool|the random pool was ready after .*|WARNING: net: TLS waited .*)`).FindAllString(c.Text, -1); m != nil {
		t.Logf("random pool: %q", m)
	}
	if c.contains("WARNING: net: TLS waited") {
		t.Error("TLS waited seconds for the random pool with virtio-rng")
	}
	log, _ := os.ReadFile(ngx.logs)
	if len(log) < len(before) || !strings.Contains(string(log[len(before):]), `"GET /LiveOS/squashfs.img HTTP/1.1" 200`) {
		t.Errorf("nginx's HTTPS log lacks the image of this boot:\n%s", log)
	}
	if st := c.guestState(t); st.Net == nil || st.Net.URL != url || st.Verity == nil || st.Verity.RootHash != root {
		t.Errorf("state.json: net %+v, verity %+v", st.Net, st.Verity)
	}
}

// TestNetDHCPURL: sandbox.url=dhcp takes the image from beside the DHCP
// answer's boot file (QEMU's bootfile=, an iPXE script's URL), checked
// against the root hash, to the real init.
func TestNetDHCPURL(t *testing.T) {
	site := makeNetSite(t)
	n := site.busybox()
	n.BootFile = netServer + "/boot.ipxe"
	c := bootVM(t, netVM("", []testvm.Net{n}, "sandbox.url=dhcp", "sandbox.verity="+site.root))
	url := netServer + "/LiveOS/squashfs.img"
	for _, want := range []string{`net: sandbox.url=dhcp: the DHCP answer's boot file "` + netServer + `/boot.ipxe", boot server 10.0.2.2: the image is ` + url,
		"sandbox-init: net: " + url + ": ", "every block checked against its hash tree as it came", "realinit: first line"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if st := c.guestState(t); st.Net == nil || st.Net.URL != url {
		t.Errorf("state.json: net %+v", st.Net)
	}
}
