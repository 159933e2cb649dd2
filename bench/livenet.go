package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// bench livenet (issue 22): bench system's Debian root (the marker unit
// stamps multi-user.target) booted over the network, kernel start →
// multi-user.target, with Debian 12's standard kernel:
//   - ours-http: the tree mklive netboot writes, with boot.ipxe's command
//     line: the image into RAM, each block checked against the hash tree;
//   - ours-nbd: the same image read on demand from nbdkit
//     (sandbox.url=nbd://);
//   - livenet: Debian 12's dracut 059 with livenet and network-legacy
//     (dhclient, curl), root=live:http://…: curl downloads the file, then
//     dmsquash-live loops it.
//
// One file is served to all three: the tree's LiveOS/squashfs.img, the zstd
// squashfs container holding LiveOS/rootfs.img, the layout dmsquash-live
// looks for (bench system's dracut boots the same container from the ISO);
// its hash tree is a file beside it, which dracut never asks for. The
// servers are busybox httpd and nbdkit on 127.0.0.1; each connection the
// guest opens goes through the relay (relay.go) at the link's rate.
const livenetMemMiB = systemMemMiB

// netLink is a throttled link: its name and rate in bits per second.
type netLink struct {
	name string
	bps  int64
}

var links = []netLink{{"100M", 100_000_000}, {"1G", 1_000_000_000}}

func (l netLink) label() string { return fmt.Sprintf("%s (%g Mbit/s)", l.name, float64(l.bps)/1e6) }

type livenetOpts struct {
	common
	quick    bool
	links    string
	variants string
}

func newLivenet(fs *flag.FlagSet) experiment {
	o := &livenetOpts{}
	o.register(fs, 3, 300*time.Second)
	fs.BoolVar(&o.quick, "quick", false, "one boot per variant and link")
	fs.StringVar(&o.links, "links", "100M,1G", "links: 100M, 1G")
	fs.StringVar(&o.variants, "netvariants", "ours-http,ours-nbd,livenet", "variants: ours-http, ours-nbd, livenet")
	return o
}

func (o *livenetOpts) options() *common { return &o.common }
func (o *livenetOpts) plan() plan       { return plan{rootMiB: 128, memMiB: livenetMemMiB} }
func (o *livenetOpts) check() error {
	_, err := findLinks(o.links)
	return err
}

func findLinks(list string) ([]netLink, error) {
	var out []netLink
	for name := range wanted(list) {
		if name == "" {
			continue
		}
		i := len(out)
		for _, l := range links {
			if l.name == name {
				out = append(out, l)
			}
		}
		if len(out) == i {
			return nil, fmt.Errorf("unknown link %q (have 100M, 1G)", name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no link in %q", list)
	}
	if len(out) == 2 && out[0].bps > out[1].bps {
		out[0], out[1] = out[1], out[0]
	}
	return out, nil
}

// netVariant is a sysVariant with the servers its machine reaches.
type netVariant struct {
	*sysVariant
	port int // the server's port on 127.0.0.1
	at   string
}

// run builds the tree and dracut's initramfs, starts the servers and
// boots each variant on each link -n times, alternating.
func (o *livenetOpts) run(repo string, img *images) ([]table, []string, error) {
	n := o.n
	if o.quick {
		n = 1
	}
	ls, _ := findLinks(o.links)
	cache := testvm.CacheDir(repo)
	sys, tree, treeBytes, _, err := systemPrep(cache, img, testvm.Std12, "livenet")
	if err != nil {
		return nil, nil, err
	}
	www := filepath.Join(sys.Dir, "www")
	words, err := netbootTree(sys, sys.kernel, tree, www, "panic=-1 sandbox.onfail=poweroff sandbox.cowsize=128M")
	if err != nil {
		return nil, nil, err
	}
	st, err := os.Stat(filepath.Join(www, "LiveOS", "squashfs.img"))
	if err != nil {
		return nil, nil, err
	}
	vs, stop, err := livenetVariants(cache, sys, www, words, wanted(o.variants))
	defer stop()
	if err != nil {
		return nil, nil, err
	}
	bootLivenet(sys, vs, ls, n)
	return livenetTables(vs, ls, n, st.Size(), treeBytes), livenetRatios(vs, ls), nil
}

// livenetVariants builds dracut's initramfs and starts the servers of the
// wanted variants; stop stops them.
func livenetVariants(cache string, sys *images, www string, words []string, want map[string]bool) ([]*netVariant, func(), error) {
	var procs []*exec.Cmd
	stop := func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}
	serve := func(name string, args ...string) (int, error) {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		a := make([]string, len(args))
		for i, x := range args {
			a[i] = strings.ReplaceAll(x, "PORT", strconv.Itoa(port))
		}
		c := exec.Command(name, a...)
		if err := c.Start(); err != nil {
			return 0, err
		}
		procs = append(procs, c)
		return port, waitListen(port)
	}
	httpPort, err := serve("busybox", "httpd", "-f", "-p", "127.0.0.1:PORT", "-h", www)
	if err != nil {
		return nil, stop, fmt.Errorf("busybox httpd: %w", err)
	}
	var vs []*netVariant
	ours := initramfs{path: filepath.Join(www, "initrd.img")}
	if want["ours-http"] {
		vs = append(vs, &netVariant{&sysVariant{name: "ours-http", kind: "ours", initrd: ours, cmdline: words}, httpPort, "10.0.2.100:80"})
	}
	if want["ours-nbd"] {
		nbdPort, err := serve("nbdkit", "--foreground", "--exit-with-parent", "--readonly", "--ipaddr", "127.0.0.1", "--port", "PORT", "file", "dir="+filepath.Join(www, "LiveOS"))
		if err != nil {
			return nil, stop, fmt.Errorf("nbdkit: %w", err)
		}
		var nbd []string
		for _, w := range words {
			if strings.HasPrefix(w, "sandbox.url=") {
				w = "sandbox.url=nbd://10.0.2.100/squashfs.img"
			}
			nbd = append(nbd, w)
		}
		vs = append(vs, &netVariant{&sysVariant{name: "ours-nbd", kind: "ours", initrd: ours, cmdline: nbd}, nbdPort, "10.0.2.100:10809"})
	}
	if want["livenet"] {
		logf("-livenet: dracut's initramfs (network-legacy, livenet, chrooted in %s/dracut/root)", cache)
		r, took, err := buildDracut(cache, sys.kernel, filepath.Join(sys.Dir, "dracut-livenet.img"), "network-legacy livenet")
		if err != nil {
			return nil, stop, err
		}
		logf("-livenet: dracut: %d bytes, %.1f s", r.gz, took.Seconds())
		line := []string{"console=ttyS0", "panic=-1", "root=live:" + netServer + "/LiveOS/squashfs.img", "rd.live.image", "ip=dhcp", "rd.neednet=1", "rd.shell=0", "rd.emergency=poweroff"}
		vs = append(vs, &netVariant{&sysVariant{name: "livenet", kind: "dracut", initrd: r, buildS: took.Seconds(), cmdline: line}, httpPort, "10.0.2.100:80"})
	}
	if st, err := os.Stat(ours.path); err == nil {
		ours.gz = st.Size()
		for _, v := range vs {
			if v.kind == "ours" {
				v.initrd = ours
			}
		}
	}
	return vs, stop, nil
}

// freePort is a port on 127.0.0.1 nothing listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListen waits up to 5 s for a server on 127.0.0.1:port.
func waitListen(port int) error {
	for i := 0; i < 50; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on 127.0.0.1:%d after 5 s", port)
}
