package vmtests

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// TestNetStall: a server that stops sending without closing the
// connection. Trickle: the first download of the image slows to 100 bytes
// a second after 1 MiB (never 10 s without a byte, so only the trickle
// rule sees it); the boot names the stall, resumes with Range from the
// byte it had and goes on to the real init. Budget: every connection
// stops dead after 1 MiB; with sandbox.netwait=20s the boot fails in phase
// net naming the URL, the tries and the stall. The two wait mostly on the
// stalls, so they run side by side.
func TestNetStall(t *testing.T) {
	site := makeNetSite(t)
	url := netServer + "/LiveOS/squashfs.img"
	t.Run("Trickle", func(t *testing.T) {
		t.Parallel()
		n := stallNet(t, site.dir, &stallRelay{after: 1 << 20, trickle: 100})
		c := bootVM(t, netVM("", []testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root))
		stalled := regexp.MustCompile(`WARNING: net: try 1 failed: ` + regexp.QuoteMeta(url) +
			`: stalled: a trickle of [0-9]+ bytes in the last 10s \(fewer than 16384\), at byte (10[0-9]{5}); again in [0-9.]+m?s, from byte (10[0-9]{5})`)
		if m := stalled.FindStringSubmatch(c.Text); m == nil || m[1] != m[2] {
			t.Error("the console does not name the trickle, or the next try does not start from the byte it had")
		}
		// The whole image (its size depends on the test root the set-up built), in two tries.
		done := regexp.MustCompile(regexp.QuoteMeta(url) + `: [0-9.]+ MiB into RAM in .*, 2 tries\); every block checked`)
		if !done.MatchString(c.Text) || !c.contains("realinit: first line") {
			t.Error("the download did not complete on the second try, or the boot did not go on")
		}
	})
	t.Run("Budget", func(t *testing.T) {
		t.Parallel()
		n := stallNet(t, site.dir, &stallRelay{after: 1 << 20, every: true})
		expectFailure(t, netVM("", []testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root, "sandbox.netwait=20s"), "net",
			"gave up after 2 tries in 20.", "last error: "+url+": stalled: no byte for 10s, at byte 10",
			"(our address 10.0.2.15/24 on eth0", "sandbox.netwait= gives it longer")
	})
}

// stallNet is a NIC whose 10.0.2.100:80 leads through r to busybox httpd
// serving dir, each guest connection by its own nc.
func stallNet(t *testing.T, dir string, r *stallRelay) testvm.Net {
	h := &httpd{port: freePort(t), dir: dir}
	h.start(t)
	t.Cleanup(h.kill)
	r.upstream = h.port
	return testvm.Net{Forward: []string{fmt.Sprintf("tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 %d", listen(t, r.serve))}}
}

// stallRelay relays each connection to the server on upstream at full
// speed until one (each, with every) has carried after bytes of the
// server's answer; then it sends trickle bytes a second of the rest (none
// when 0), keeping the connection open until the guest drops it.
type stallRelay struct {
	upstream int
	after    int64
	trickle  int
	every    bool
	fired    atomic.Bool // a connection has stalled
}

func (r *stallRelay) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.upstream))
	if err != nil {
		return
	}
	defer s.Close()
	gone := make(chan struct{}) // the guest's side closed
	go func() { io.Copy(s, c); close(gone) }()
	buf := make([]byte, 64<<10)
	var sent int64
	stalling := false
	for {
		want := int64(len(buf))
		if stalling {
			if r.trickle == 0 {
				select {
				case <-gone:
				case <-time.After(time.Minute):
				}
				return
			}
			want = int64(r.trickle)
		} else if sent < r.after {
			want = min(want, r.after-sent) // stop at after exactly
		}
		n, err := s.Read(buf[:want])
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
		}
		if err != nil {
			return
		}
		if !stalling && sent >= r.after && (r.every || r.fired.CompareAndSwap(false, true)) {
			stalling = true
		}
		if stalling {
			select {
			case <-gone:
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// TestNetPXELINUX: from power-on to the real init through PXELINUX, from
// the tree mklive netboot writes: the firmware's PXE (QEMU's iPXE ROM)
// gets the tree's pxelinux.0 by TFTP, which reads ldlinux.c32 and
// pxelinux.cfg/default by TFTP and fetches the entry's http:// kernel and
// initramfs through iPXE (its PXE extensions); the kernel gets the entry's
// command line (the root hash on it) and PXELINUX's BOOTIF=, which the
// init's DHCP keeps to. pxelinux.0, not lpxelinux.0: lpxelinux's own TCP
// stack (lwIP) once failed to fetch the kernel from QEMU's user network
// on a loaded host ("Boot failed"), where iPXE's never did, and took 5 s
// for what iPXE fetches in 1.
func TestNetPXELINUX(t *testing.T) {
	out, err := netbootTree()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(out, "pxelinux.cfg", "default"))
	if err != nil {
		t.Fatal(err)
	}
	n := netSite{dir: out}.busybox()
	n.TFTP, n.BootFile = out, "pxelinux.0"
	c := bootVM(t, vm{noKernel: true, nets: []testvm.Net{n}, memoryMiB: 1024, qemu: []string{"-boot", "n"}})
	url := netServer + "/LiveOS/squashfs.img"
	for _, want := range []string{"PXELINUX", "Command line: BOOT_IMAGE=" + netServer + "/vmlinuz " + appendLine(string(cfg)) + " initrd=" + netServer + "/initrd.img BOOTIF=01-52-54-00-12-34-56",
		"net: DHCP on eth0 (52:54:00:12:34:56, virtio_net)", "sandbox-init: net: " + url + ".verity: hash tree",
		"every block checked against its hash tree as it came", "realinit: first line"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if st := c.guestState(t); st.Net == nil || st.Net.URL != url || st.Verity == nil {
		t.Errorf("state.json: net %+v, verity %+v", st.Net, st.Verity)
	}
}

// netbootTree is the tree mklive netboot -url http://10.0.2.100 -uki
// writes for the canary root on the cloud kernel (keys made for it), built
// once for the PXE tests: on BIOS its boot.ipxe loads the kernel, on UEFI
// it chains the signed image.
var netbootTree = sync.OnceValues(func() (string, error) {
	img, err := canaryRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(built.dir, "netboot-tree")
	return out, mklive.Netboot(mklive.NetbootSpec{URL: netServer, LiveCDSpec: mklive.LiveCDSpec{Kernel: built.kernels[testvm.Cloud12].kernel, Init: filepath.Join(built.dir, "init"),
		Root: img, Container: "zstd", Out: out, Append: "loglevel=7 panic=-1 sandbox.onfail=poweroff sandbox.cowsize=64M", UKI: true, Keys: filepath.Join(built.dir, "netboot-keys"),
		Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "vmtests: "+f+"\n", a...) }}})
})

// appendLine is the APPEND line of a PXELINUX entry.
func appendLine(cfg string) string {
	for _, l := range strings.Split(cfg, "\n") {
		if a, ok := strings.CutPrefix(strings.TrimSpace(l), "APPEND "); ok {
			return a
		}
	}
	return "(no APPEND line)"
}

// TestNetUKI: the tree mklive netboot -uki writes, booted by UEFI
// firmware (OVMF, Secure Boot off: QEMU's iPXE option ROM is unsigned,
// and firmware that enforces Secure Boot refuses it) from -boot n: iPXE
// gets boot.ipxe by TFTP, which on UEFI chains uki.efi by HTTP instead
// of loading vmlinuz and initrd.img; systemd's stub boots the image's
// kernel and initramfs (with Secure Boot off, with iPXE's command line,
// the same one after BOOT_IMAGE=); the init fetches the container and
// checks it against the root hash, to the real init. That the firmware
// refuses a changed or unsigned image with Secure Boot on, and that the
// stub then boots the signed command line, TestUKISecureBoot proves for
// the same signing code.
func TestNetUKI(t *testing.T) {
	out, err := netbootTree()
	if err != nil {
		t.Fatal(err)
	}
	n := netSite{dir: out}.busybox()
	n.TFTP, n.BootFile = out, "boot.ipxe"
	c := bootVM(t, uefiPXE(t, n))
	url := netServer + "/LiveOS/squashfs.img"
	for _, want := range []string{netServer + "/uki.efi...", "Command line: BOOT_IMAGE=uki.efi console=tty0 console=ttyS0 sandbox.url=" + url,
		"sandbox-init: net: " + url + ".verity: hash tree", "every block checked against its hash tree as it came", "realinit: first line"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if c.contains(netServer + "/vmlinuz") {
		t.Error("iPXE loaded vmlinuz on UEFI, not the unified kernel image")
	}
	if st := c.guestState(t); st.Net == nil || st.Net.URL != url || st.Verity == nil || st.BootChain == nil || !st.BootChain.UEFI {
		t.Errorf("state.json: net %+v, verity %+v, boot chain %+v", st.Net, st.Verity, st.BootChain)
	}
}

// uefiPXE is a machine with UEFI firmware (OVMF, Secure Boot off, its
// variables a copy) and the NIC n, booting from the network.
func uefiPXE(t *testing.T, n testvm.Net) vm {
	vars := filepath.Join(t.TempDir(), "vars.fd")
	copyFile(t, testvm.OVMFSetupVars, vars)
	return vm{noKernel: true, nets: []testvm.Net{n}, memoryMiB: 1024, timeout: 4 * time.Minute, qemu: []string{"-boot", "n",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd", "-drive", "if=pflash,format=raw,unit=1,file=" + vars}}
}

// TestNetGRUB: the tree's grub/grub.cfg read by GRUB's network boot on
// UEFI (grub-mknetdir's core.efi from Debian's grub-efi-amd64-bin, by TFTP
// from QEMU's iPXE ROM, beside the tree's grub/grub.cfg): GRUB loads the
// kernel and the initramfs by HTTP from the tree and gives the kernel the
// entry's command line, which is boot.ipxe's (TestLoaderEntries), to the
// real init.
func TestNetGRUB(t *testing.T) {
	out, err := netbootTree()
	if err != nil {
		t.Fatal(err)
	}
	tftp := t.TempDir()
	if err := hostcmd.Run("grub-mknetdir", "--net-directory="+tftp, "--subdir=grub", "-d", "/usr/lib/grub/x86_64-efi"); err != nil {
		t.Fatal(err)
	}
	put(t, filepath.Join(out, "grub", "grub.cfg"), filepath.Join(tftp, "grub", "grub.cfg"))
	n := netSite{dir: out}.busybox()
	n.TFTP, n.BootFile = tftp, "grub/x86_64-efi/core.efi"
	c := bootVM(t, uefiPXE(t, n))
	script, _ := os.ReadFile(filepath.Join(out, "boot.ipxe"))
	cmdline := regexp.MustCompile(`(?m)^kernel \S+ initrd=initrd.img (.*)$`).FindSubmatch(script)
	url := netServer + "/LiveOS/squashfs.img"
	for _, want := range []string{"Loading (http,10.0.2.100)/vmlinuz ...", "Command line: BOOT_IMAGE=(http,10.0.2.100)/vmlinuz " + string(cmdline[1]),
		"sandbox-init: net: " + url + ".verity: hash tree", "every block checked against its hash tree as it came", "realinit: first line"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
}
