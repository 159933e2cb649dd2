package vmtests

import (
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
	"github.com/sandbox-init/sandbox-init/modpolicy"
)

// netServer is the address the guest reaches the test's web server at:
// QEMU forwards it (guestfwd) to a server on the host's loopback.
const netServer = "http://10.0.2.100"

// netInitramfs is the kernel's default initramfs with the NIC drivers, as
// mklive -net makes it: each built once, when a test first boots that
// kernel (a build takes half a minute on a loaded host).
var netInitramfs = func() map[string]func() string {
	out := map[string]func() string{}
	for _, name := range testvm.Kernels {
		out[name] = sync.OnceValue(func() string {
			path := filepath.Join(built.dir, "initramfs-net-"+name+".img")
			_, err := defaultInitramfs(built.kernels[name].kernel, path, func(s *mklive.InitramfsSpec) {
				s.Optional = append(s.Optional, modpolicy.NetDrivers...)
				s.Optional = append(s.Optional, "nbd") // as mklive -net: sandbox.url=nbd://
			})
			if err != nil {
				panic(err)
			}
			return path
		})
	}
	return out
}()

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
	return vm{kernel: kernel, initramfs: netInitramfs[kernel](), nets: nets, memoryMiB: 1024, append: append([]string{"sandbox.cowsize=64M"}, params...)}
}

// TestNetBoot: the container and its hash tree from a web server, into
// RAM, each block checked as it comes, booted to the real init; with
// virtio-net on Debian 12's cloud kernel and on Debian 13's (its modules
// .ko.xz), and with an e1000e card on Debian 12's standard kernel. Debian
// 13's machine has an e1000e card too, on a dead link: its driver loads
// and DHCP asks there as well, at no cost of a boot of its own.
func TestNetBoot(t *testing.T) {
	site := makeNetSite(t)
	url := netServer + "/LiveOS/squashfs.img"
	for _, tc := range []struct{ kernel, model, driver, dead string }{
		{testvm.Cloud12, "virtio-net-pci", "virtio_net", ""},
		{testvm.Std12, "e1000e", "e1000e", ""},
		{testvm.Std13, "virtio-net-pci", "virtio_net", "e1000e"},
	} {
		t.Run(tc.kernel, func(t *testing.T) {
			n := site.busybox()
			n.Model, n.MAC = tc.model, "52:54:00:12:34:56"
			nets := []testvm.Net{n}
			wants := []string{"(52:54:00:12:34:56, " + tc.driver + "): 10.0.2.15/24 by DHCP from 10.0.2.2"}
			if tc.dead != "" {
				nets = append(nets, testvm.Net{DeadPort: freePort(t), Model: tc.dead, MAC: "52:54:00:00:00:09"})
				wants = append(wants, "(52:54:00:00:00:09, "+tc.dead+")")
			}
			c := bootVM(t, netVM(tc.kernel, nets, "sandbox.url="+url, "sandbox.verity="+site.root))
			for _, want := range append(wants,
				"sandbox-init: net: "+url+".verity: hash tree",
				"sandbox-init: net: "+url+": ",
				"every block checked against its hash tree as it came",
				"sandbox-init: the image fetched into RAM (sandbox.url); container /squashfs.img",
				"realinit: first line",
			) {
				if !c.contains(want) {
					t.Errorf("console lacks %q", want)
				}
			}
			if c.contains("CD  mounted") {
				t.Error("the image step names a CD with no name")
			}
			st := c.guestState(t)
			if st.ImageInRAM != "/run/sandbox/toram/squashfs.img" || st.Net == nil || st.Net.MAC != "52:54:00:12:34:56" || st.Net.URL != url || st.Verity == nil {
				t.Errorf("state.json: image_in_ram %q, net %+v, verity %+v", st.ImageInRAM, st.Net, st.Verity)
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
		// Nothing forwarded: under restrict=on no packet leaves QEMU.
		expectFailure(t, netVM("", []testvm.Net{{}}, "sandbox.url="+url, verity, "sandbox.netwait=6s"), "net",
			"gave up after", "(our address 10.0.2.15/24 on eth0", "is the web server up")
	})
	t.Run("NoDriver", func(t *testing.T) {
		// The default initramfs: no NIC drivers.
		v := netVM("", []testvm.Net{site.busybox()}, "sandbox.url="+url, verity, "sandbox.wait=2")
		v.initramfs = built.initramfs.Path
		expectFailure(t, v, "net", "no driver in this initramfs for: virtio network device virtio0 at PCI 0000:00:", "mklive -net")
	})
	t.Run("NoDHCP", func(t *testing.T) {
		expectFailure(t, netVM("", []testvm.Net{{DeadPort: freePort(t)}}, "sandbox.url="+url, verity, "sandbox.netwait=6s"), "net",
			"no DHCP answer after 2 tries", "is a DHCP server on this network?")
	})
}

// TestNetLinks: two NICs, the first on a dead link (carrier, no DHCP
// server): DHCP asks on both at once and the live one answers; and a
// static address from ip= with no DHCP at all (and no sandbox.verity).
func TestNetLinks(t *testing.T) {
	site := makeNetSite(t)
	url := netServer + "/LiveOS/squashfs.img"
	t.Run("TwoNICsOneDead", func(t *testing.T) {
		live := site.busybox()
		live.MAC = "52:54:00:00:00:02"
		c := bootVM(t, netVM("", []testvm.Net{{DeadPort: freePort(t), MAC: "52:54:00:00:00:01"}, live}, "sandbox.url="+url, "sandbox.verity="+site.root))
		if !c.contains("net: DHCP on eth0 (52:54:00:00:00:01, virtio_net), eth1 (52:54:00:00:00:02, virtio_net)") ||
			!c.contains("net: eth1 (52:54:00:00:00:02, virtio_net): 10.0.2.15/24 by DHCP") || !c.contains("realinit: first line") {
			t.Error("DHCP did not ask on both links, or the live one did not win, or the boot stopped")
		}
	})
	t.Run("StaticIP", func(t *testing.T) {
		// Without sandbox.verity: plain HTTP is warned about on every
		// console, and the boot goes on, the image unchecked.
		c := bootVM(t, netVM("", []testvm.Net{site.busybox()}, "sandbox.url="+url, "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"))
		if !c.contains("net: eth0 (52:54:00:12:34:56, virtio_net): 10.0.2.15/24 (static, ip=), gateway 10.0.2.2") || c.contains("net: DHCP on") || !c.contains("realinit: first line") {
			t.Error("ip= did not give the static address, or DHCP ran, or the boot stopped")
		}
		for _, want := range []string{"sandbox-init: WARNING: net: sandbox.url without sandbox.verity over plain HTTP: nothing checks the image from " + url + "; anyone on the way can change it (give the root hash mklive printed, or use https://)",
			"sandbox-init: net: " + url + ": ", "; unchecked (no sandbox.verity)"} {
			if !c.contains(want) {
				t.Errorf("console lacks %q", want)
			}
		}
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

// bigSite is netSite's layout for a root with 24 MiB of noise (a container
// that takes seconds to fetch under TCG, long enough to kill its server in
// the middle).
var bigSite = sync.OnceValues(func() (netSite, error) {
	dir := filepath.Join(built.dir, "bignet")
	tool, err := os.ReadFile(filepath.Join(built.dir, "init"))
	if err != nil {
		return netSite{}, err
	}
	noise := make([]byte, 24<<20)
	rand.New(rand.NewSource(7)).Read(noise)
	tree := filepath.Join(dir, "tree")
	if err := mklive.BusyboxTree(tree, "", map[string]string{"sbin/init": guestInit, "bin/sandbox-init": string(tool), "noise": string(noise)}); err != nil {
		return netSite{}, err
	}
	stage := filepath.Join(dir, "sq", "LiveOS")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return netSite{}, err
	}
	if _, err := mklive.BuildRootImage(mklive.RootImageSpec{Tree: tree, Out: filepath.Join(stage, "rootfs.img"), Label: "big"}); err != nil {
		return netSite{}, err
	}
	site := netSite{dir: filepath.Join(dir, "www")}
	site.image = filepath.Join(site.dir, "LiveOS", "squashfs.img")
	if err := os.MkdirAll(filepath.Dir(site.image), 0o755); err != nil {
		return netSite{}, err
	}
	if err := hostcmd.Run("mksquashfs", filepath.Dir(stage), site.image, "-comp", "zstd", "-noappend", "-no-xattrs", "-quiet"); err != nil {
		return netSite{}, err
	}
	site.root, err = mklive.VerityTree(site.image, site.image+".verity", "bignet")
	return site, err
})

// httpd is busybox httpd standing on 127.0.0.1:port (it forks a child per
// connection: its process group is killed, children and all).
type httpd struct {
	cmd  *exec.Cmd
	port int
	dir  string
}

func (h *httpd) start(t *testing.T) {
	t.Helper()
	h.cmd = exec.Command("busybox", "httpd", "-f", "-p", fmt.Sprintf("127.0.0.1:%d", h.port), "-h", h.dir)
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

func (h *httpd) kill() {
	if h.cmd != nil && h.cmd.Process != nil {
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		_ = h.cmd.Wait()
	}
}

// TestNetResume: the web server is killed in the middle of the download
// and started again two seconds later; the download resumes from the
// byte it stopped at (Range) and the boot goes on to the real init.
func TestNetResume(t *testing.T) {
	site, err := bigSite()
	if err != nil {
		t.Fatal(err)
	}
	h := &httpd{port: freePort(t), dir: site.dir}
	h.start(t)
	defer h.kill()
	// Each guest connection gets its own nc to the server: QEMU's tcp
	// forward would hold one connection for good. Between them, a relay
	// at 3 MiB/s: the download lasts seconds on any host (it was over
	// before its first progress line on a quiet one), so the server dies
	// in its middle.
	relay := throttle(t, h.port, 3<<20)
	n := testvm.Net{Forward: []string{fmt.Sprintf("tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 %d", relay)}}
	url := netServer + "/LiveOS/squashfs.img"
	v := netVM("", []testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root)
	v.session = func(s *testvm.Session) {
		if err := s.Expect("% ("); err != nil { // the first progress line
			t.Errorf("no progress shown: %v", err)
			return
		}
		h.kill()
		time.Sleep(2 * time.Second)
		h.start(t)
	}
	c := bootVM(t, v)
	resumed := regexp.MustCompile(`WARNING: net: try 1 failed: .*; again in .*, from byte ([1-9][0-9]*)`)
	if !resumed.MatchString(c.Text) {
		t.Error("the console shows no failed try after some bytes")
	}
	done := regexp.MustCompile(`net: ` + regexp.QuoteMeta(url) + `: .* into RAM in .*, ([2-9]|[1-9][0-9]+) tries\); every block checked`)
	if !done.MatchString(c.Text) || !c.contains("realinit: first line") {
		t.Error("the download did not finish after the server came back, or the boot did not go on")
	}
}

// throttle relays each connection to 127.0.0.1 on 127.0.0.1:port to the
// server on upstream, the server's bytes at rate bytes a second; a
// connection the server drops (or refuses) is dropped. It lives as long as
// the test.
func throttle(t *testing.T, upstream, rate int) (port int) {
	return listen(t, func(c net.Conn) { relayConn(c, upstream, rate) })
}

// listen serves each connection to 127.0.0.1:port with serve, in its own
// goroutine, as long as the test lives.
func listen(t *testing.T, serve func(net.Conn)) (port int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func relayConn(c net.Conn, upstream, rate int) {
	defer c.Close()
	s, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", upstream))
	if err != nil {
		return
	}
	defer s.Close()
	go func() { io.Copy(s, c) }()
	buf := make([]byte, rate/20)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			time.Sleep(time.Second * time.Duration(n) / time.Duration(rate))
		}
		if err != nil {
			return
		}
	}
}

// nginx is Debian's nginx (unpacked by scripts/setup.sh) serving dir on
// 127.0.0.1:port, its log in its own directory; over HTTPS only when
// startNginx is given a certificate and its key.
type nginx struct {
	cmd       *exec.Cmd
	port      int
	dir, logs string
}

func startNginx(t *testing.T, www string, certKey ...string) *nginx {
	t.Helper()
	n := &nginx{port: freePort(t), dir: t.TempDir()}
	n.logs = filepath.Join(n.dir, "access.log")
	ssl := "" // with a certificate and its key: HTTPS only
	if len(certKey) == 2 {
		ssl = fmt.Sprintf(" ssl; ssl_certificate %s; ssl_certificate_key %s", certKey[0], certKey[1])
	}
	// user root: the test's directories are the test's own (0700);
	// ignored when the test does not run as root.
	conf := fmt.Sprintf(`daemon off;
user root;
pid %[1]s/nginx.pid;
error_log stderr;
events {}
http {
	access_log %[2]s;
	client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
	default_type application/octet-stream;
	server { listen 127.0.0.1:%[3]d%[5]s; root %[4]s; sendfile on; }
}
`, n.dir, n.logs, n.port, www, ssl)
	if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(built.cache, "nginx", "root", "usr", "sbin", "nginx")
	n.cmd = exec.Command(bin, "-p", n.dir, "-c", filepath.Join(n.dir, "nginx.conf"), "-e", "stderr")
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("nginx (scripts/setup.sh unpacks it into the cache): %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
		_ = n.cmd.Wait()
	})
	for i := 0; i < 50; i++ { // until it listens
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", n.port)); err == nil {
			c.Close()
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("nginx does not listen")
	return nil
}

// TestNetNginx: nginx on loopback serves the container; the first mirror
// of sandbox.url has no such file (404: skipped at once), the second has.
func TestNetNginx(t *testing.T) {
	site := makeNetSite(t)
	srv := startNginx(t, site.dir)
	n := testvm.Net{Forward: []string{fmt.Sprintf("tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 %d", srv.port)}}
	good := netServer + "/LiveOS/squashfs.img"
	c := bootVM(t, netVM("", []testvm.Net{n}, "sandbox.url="+netServer+"/old/squashfs.img,"+good, "sandbox.verity="+site.root))
	if !c.contains("WARNING: net: " + netServer + "/old/squashfs.img.verity: HTTP 404 Not Found: trying the next mirror") {
		t.Error("the console does not say the first mirror lacks the file")
	}
	if !c.contains("sandbox-init: net: "+good+": ") || !c.contains("realinit: first line") {
		t.Error("the image did not come from the second mirror, or the boot did not reach the real init")
	}
	log, _ := os.ReadFile(srv.logs)
	for _, want := range []string{`"GET /old/squashfs.img.verity HTTP/1.1" 404`, `"GET /LiveOS/squashfs.img.verity HTTP/1.1" 200`, `"GET /LiveOS/squashfs.img HTTP/1.1" 200`} {
		if !strings.Contains(string(log), want) {
			t.Errorf("nginx's log lacks %s:\n%s", want, log)
		}
	}
	if strings.Count(string(log), "/old/") != 2 {
		t.Errorf("the 404 mirror was asked other than once for the tree and once for the image:\n%s", log)
	}
}

// TestNetPXE: from power-on with nothing but a NIC, booted from the tree
// mklive netboot writes: the firmware's PXE (QEMU's iPXE ROM) gets the
// tree's boot.ipxe by TFTP, which on BIOS fetches the kernel and the
// initramfs by HTTP; sandbox-init then brings the network up again and fetches the
// container from the same server, checked against the root hash the
// script carries, to the real init.
func TestNetPXE(t *testing.T) {
	out, err := netbootTree()
	if err != nil {
		t.Fatal(err)
	}
	n := netSite{dir: out}.busybox()
	n.TFTP, n.BootFile = out, "boot.ipxe"
	c := bootVM(t, vm{noKernel: true, nets: []testvm.Net{n}, memoryMiB: 1024, qemu: []string{"-boot", "n"}})
	url := netServer + "/LiveOS/squashfs.img"
	for _, want := range []string{netServer + "/vmlinuz...", "net: eth0 (52:54:00:12:34:56, virtio_net): 10.0.2.15/24 by DHCP", "sandbox-init: net: " + url + ".verity: hash tree",
		"every block checked against its hash tree as it came", "realinit: first line"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if st := c.guestState(t); st.Net == nil || st.Net.URL != url || st.Verity == nil {
		t.Errorf("state.json: net %+v, verity %+v", st.Net, st.Verity)
	}
}
