package vmtests

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// nbdURL is the export the guest boots from: the served directory's
// squashfs.img (its hash tree, squashfs.img.verity, is the export beside it).
const nbdURL = "nbd://10.0.2.100/squashfs.img"

// nbdkit serves every file of dir as an export of its name (file dir=),
// read-only, on 127.0.0.1:port.
type nbdkit struct {
	cmd  *exec.Cmd
	port int
	dir  string
}

func (n *nbdkit) start(t *testing.T) {
	t.Helper()
	n.cmd = exec.Command("nbdkit", "--foreground", "--exit-with-parent", "--readonly", "--ipaddr", "127.0.0.1", "--port", fmt.Sprint(n.port), "file", "dir="+n.dir)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for t0 := time.Now(); time.Since(t0) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", n.port)); err == nil {
			c.Close()
			return
		}
	}
	t.Fatal("nbdkit does not listen")
}

func (n *nbdkit) kill() {
	if n.cmd != nil && n.cmd.Process != nil {
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		_ = n.cmd.Wait()
	}
}

// net is the guest's card: each connection to 10.0.2.100:10809 gets its
// own nc to the server (a tcp: forward would hold one connection for good).
// While the server is down, nc's complaint reaches the guest (QEMU runs it
// with no shell, so it cannot be sent elsewhere): the reconnect's warning
// quotes it as the greeting.
func (n *nbdkit) net() testvm.Net {
	return testvm.Net{Forward: []string{fmt.Sprintf("tcp:10.0.2.100:10809-cmd:busybox nc 127.0.0.1 %d", n.port)}}
}

// nbdVM boots the cloud kernel from an NBD export, with less RAM than a
// fetch into RAM would ask for.
func nbdVM(nets []testvm.Net, params ...string) vm {
	v := netVM("", nets, params...)
	v.memoryMiB = 384
	return v
}

// bigNBDImage is the canary root as a plain 512 MiB ext4 image (sparse:
// its free space is holes) with its hash tree beside it: larger than the
// RAM of the machine that boots it.
var bigNBDImage = sync.OnceValues(func() (netSite, error) {
	if _, err := canaryRoot(); err != nil {
		return netSite{}, err
	}
	site := netSite{dir: filepath.Join(built.dir, "nbdbig")}
	site.image = filepath.Join(site.dir, "LiveOS", "root.img")
	if err := os.MkdirAll(filepath.Dir(site.image), 0o755); err != nil {
		return netSite{}, err
	}
	_, err := mklive.BuildRootImage(mklive.RootImageSpec{Tree: filepath.Join(built.dir, "canary", "tree"), Out: site.image, Size: 512 << 20, Container: true, Label: "nbdbig"})
	if err != nil {
		return netSite{}, err
	}
	site.root, err = mklive.VerityTree(site.image, site.image+".verity", "nbdbig")
	return site, err
})

// TestNBDBoot: a root image read on demand from nbdkit through /dev/nbd0,
// dm-verity over it, to the real init: a plain 512 MiB image on a machine
// with 256 MiB of RAM, during whose reads nbdkit is killed and started
// again (the reads wait for the watcher's reconnect and return the same
// bytes); and the squashfs container of a netboot tree.
//
// LargerThanRAM runs on Debian 12's cloud kernel with virtio-net and on
// Debian 13's with an e1000e card: 6.12's nbd driver takes the reconnect
// (NBD_CMD_RECONFIGURE) as 6.1's does.
func TestNBDBoot(t *testing.T) {
	for _, tc := range []struct{ kernel, model string }{{testvm.Cloud12, ""}, {testvm.Std13, "e1000e"}} {
		t.Run("LargerThanRAM/"+tc.kernel, func(t *testing.T) { nbdLargerThanRAM(t, tc.kernel, tc.model) })
	}
	t.Run("Container", func(t *testing.T) {
		site := makeNetSite(t)
		srv := &nbdkit{port: freePort(t), dir: filepath.Dir(site.image)}
		srv.start(t)
		defer srv.kill()
		c := bootVM(t, nbdVM([]testvm.Net{srv.net()}, "sandbox.url="+nbdURL, "sandbox.verity="+site.root))
		if !c.contains("the image read on demand from "+nbdURL+" (/dev/nbd0); container /squashfs.img (squashfs on /dev/mapper/sandbox-verity)") ||
			!c.contains("realinit: first line") {
			t.Error("the container was not booted from /dev/nbd0 through dm-verity")
		}
		if st := c.guestState(t); st.NBD == nil || st.ContainerLoop != "/dev/nbd0" || st.Verity == nil {
			t.Errorf("state.json: nbd %+v, container_loop %q, verity %+v", st.NBD, st.ContainerLoop, st.Verity)
		}
	})
}

// nbdLargerThanRAM is TestNBDBoot/LargerThanRAM on kernel with a card of
// model (default virtio-net).
func nbdLargerThanRAM(t *testing.T, kernel, model string) {
	site, err := bigNBDImage()
	if err != nil {
		t.Fatal(err)
	}
	srv := &nbdkit{port: freePort(t), dir: filepath.Dir(site.image)}
	srv.start(t)
	defer srv.kill()
	url := "nbd://10.0.2.100/root.img"
	n := srv.net()
	n.Model = model
	v := nbdVM([]testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root, "guest=nbd")
	v.kernel, v.initramfs, v.memoryMiB = kernel, netInitramfs[kernel](), 256
	v.session = func(s *testvm.Session) {
		if err := s.Expect("GUEST nbd-kill-now"); err != nil {
			t.Errorf("the guest did not boot to its reads: %v", err)
			return
		}
		srv.kill()
		time.Sleep(time.Second)
		s.SendLine("killed") // the guest reads now, with no server
		time.Sleep(3 * time.Second)
		srv.start(t)
	}
	c := bootVM(t, v)
	if model != "" && !c.contains(", "+model+"): 10.0.2.15/24 by DHCP") {
		t.Errorf("the link is not the %s card's", model)
	}
	for _, want := range []string{
		"sandbox-init: nbd: nbd://10.0.2.100:10809/root.img.verity: hash tree (",
		"sandbox-init: nbd: nbd://10.0.2.100:10809/root.img: 512 MiB read on demand through /dev/nbd0 (read-only",
		"sandbox-init: verity: " + url + " (131072 blocks of 4096 bytes) checked against " + url + ".verity",
		"the image read on demand from " + url + " (/dev/nbd0); /dev/mapper/sandbox-verity is the base",
		"realinit: first line",
		"WARNING: nbd: the connection to " + url + " (/dev/nbd0) is lost",
		"nbd: /dev/nbd0: reconnected to 10.0.2.100:10809 after",
	} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	before, after := c.mustGuest(t, "canary_before"), c.mustGuest(t, "canary_after")
	if len(before) != 64 || before != after {
		t.Errorf("the canary read %q before the restart, %q after", before, after)
	}
	if got := c.mustGuest(t, "nbdstatus"); !strings.HasPrefix(got, url+" read on demand through /dev/nbd0 from 10.0.2.100:10809 (512 MiB;") {
		t.Errorf("sandbox-init status says %q", got)
	}
	st := c.guestState(t)
	if st.NBD == nil || st.NBD.Device != "/dev/nbd0" || st.NBD.Size != 512<<20 || st.Verity == nil || st.ImageInRAM != "" || st.Origin != "/dev/mapper/sandbox-verity" {
		t.Errorf("state.json: nbd %+v, verity %+v, image_in_ram %q, origin %q", st.NBD, st.Verity, st.ImageInRAM, st.Origin)
	}
}

// TestNBDFailures: an export the server does not have, no server, and a
// root hash that is not the tree's each end in phase nbd, named.
func TestNBDFailures(t *testing.T) {
	site := makeNetSite(t)
	srv := &nbdkit{port: freePort(t), dir: filepath.Dir(site.image)}
	srv.start(t)
	defer srv.kill()
	verity := "sandbox.verity=" + site.root
	t.Run("UnknownExport", func(t *testing.T) {
		expectFailure(t, nbdVM([]testvm.Net{srv.net()}, "sandbox.url=nbd://10.0.2.100/nothing.img", verity), "nbd",
			"device: nbd://10.0.2.100:10809/nothing.img", `the server at 10.0.2.100:10809 has no export "nothing.img"`, "NBD_REP_ERR_UNKNOWN", "check sandbox.url= against the server's exports")
	})
	t.Run("NoServer", func(t *testing.T) {
		expectFailure(t, nbdVM([]testvm.Net{{}}, "sandbox.url="+nbdURL, verity, "sandbox.netwait=5s"), "nbd",
			"no NBD server answered at 10.0.2.100:10809: gave up after", "(our address 10.0.2.15/24 on eth0", "is the NBD server up")
	})
	t.Run("WrongRootHash", func(t *testing.T) {
		wrong := []byte(site.root)
		wrong[5] = '0'
		if site.root[5] == '0' {
			wrong[5] = '1'
		}
		expectFailure(t, nbdVM([]testvm.Net{srv.net()}, "sandbox.url="+nbdURL, "sandbox.verity="+string(wrong)), "nbd",
			"device: nbd://10.0.2.100:10809/squashfs.img.verity", "is not the one of the root hash on the command line (sandbox.verity="+string(wrong[:16])+"…)")
	})
}
