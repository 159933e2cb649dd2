package vmtests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

// httpsInitramfs is the cloud kernel's initramfs as mklive initramfs -ca
// makes it: the TLS init, the NIC and RNG drivers, and caPEM as the CA
// bundle.
func httpsInitramfs(t *testing.T, caPEM []byte) string {
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
	_, err = testvm.DefaultInitramfs(built.kernels[testvm.Cloud12].kernel, init, out, func(s *mklive.InitramfsSpec) {
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
	good := httpsInitramfs(t, ca.PEM)
	boot := func(initramfs string, qemu ...string) vm {
		v := netVM("", []testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root)
		v.initramfs, v.qemu = initramfs, append([]string{"-device", "virtio-rng-pci"}, qemu...)
		return v
	}
	t.Run("Boot", func(t *testing.T) {
		c := bootVM(t, boot(good))
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
		if !strings.Contains(string(log), `"GET /LiveOS/squashfs.img HTTP/1.1" 200`) {
			t.Errorf("nginx's HTTPS log lacks the image:\n%s", log)
		}
		if st := c.guestState(t); st.Net == nil || st.Net.URL != url || st.Verity == nil {
			t.Errorf("state.json: net %+v, verity %+v", st.Net, st.Verity)
		}
	})
	t.Run("WrongCA", func(t *testing.T) {
		other, err := testca.New("another CA")
		if err != nil {
			t.Fatal(err)
		}
		expectFailure(t, boot(httpsInitramfs(t, other.PEM)), "net", "device: "+url+".verity", "error: TLS: the certificate of 10.0.2.100 (CN=10.0.2.100) was issued by "+
			`"CN=sandbox-init test CA,O=sandbox-init tests", which is not the one CA of /etc/ssl/certs/ca-certificates.crt`, "mklive -ca FILE")
	})
	t.Run("Clock2000", func(t *testing.T) {
		expectFailure(t, boot(good, "-rtc", "base=2000-01-01"), "net", "device: "+url+".verity", "error: TLS: the clock says 2000-01-01 ",
			"the certificate of 10.0.2.100 (CN=10.0.2.100) is valid from 20", "this machine's clock is wrong", "set the clock (the RTC")
	})
	t.Run("NoTLS", func(t *testing.T) {
		expectFailure(t, boot(netInitramfs[testvm.Cloud12]()), "net", "device: "+url, "error: sandbox.url is https://, and this initramfs's sandbox-init was built without TLS", "mklive -ca FILE")
	})
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
