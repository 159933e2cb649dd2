package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// bench net (issue 22): the bench root with -mib MiB of noise made into
// the tree mklive netboot writes, served by busybox httpd through QEMU's
// user network (restrict=on, guestfwd), and booted with the tree's kernel,
// initramfs and command line -n times: the time from Run /init to
// switch_root, per MiB of the image, and the download's rate (the fetch
// step: each block hashed as it comes, into tmpfs) against the same link's
// raw rate (busybox wget of the same file to /dev/null from the booted
// system, nothing hashed or kept).
const netServer = "http://10.0.2.100"

// netOpts are bench net's options: common's, and the noise's size.
type netOpts struct {
	common
	mib int
}

func (o *netOpts) options() *common { return &o.common }
func (o *netOpts) plan() plan       { return plan{rootMiB: 128, memMiB: 1024} }
func (o *netOpts) check() error {
	if o.mib < 0 || o.mib > 512 {
		return fmt.Errorf("-mib %d: from 0 to 512", o.mib)
	}
	return nil
}

// newNet makes bench net's flags: -n 3 boots, each up to 3 minutes.
func newNet(fs *flag.FlagSet) experiment {
	o := &netOpts{}
	fs.IntVar(&o.mib, "mib", 32, "MiB of random bytes in the root (incompressible: the container grows by as much)")
	o.register(fs, 3, 180*time.Second)
	return o
}

// run builds the tree once and boots it -n times.
func (o *netOpts) run(repo string, img *images) ([]table, []string, error) {
	www, cmdline, err := o.tree(img)
	if err != nil {
		return nil, nil, err
	}
	st, err := os.Stat(filepath.Join(www, "LiveOS", "squashfs.img"))
	if err != nil {
		return nil, nil, err
	}
	mib := float64(st.Size()) / (1 << 20)
	v := &variant{name: "net", samples: map[string][]float64{}}
	url := netServer + "/LiveOS/squashfs.img"
	for i := 1; i <= o.n; i++ {
		name := fmt.Sprintf("net-%d", i)
		m := testvm.Machine{Name: name, Kernel: filepath.Join(www, "vmlinuz"), Initramfs: filepath.Join(www, "initrd.img"),
			Append: append(cmdline, "bench.wget="+url), MemoryMiB: 1024, Timeout: img.timeout,
			Nets: []testvm.Net{{Forward: []string{"tcp:10.0.2.100:80-cmd:busybox httpd -i -h " + www}}}}
		c, err := testvm.Run(m, nil)
		_ = os.WriteFile(filepath.Join(img.Dir, name+".console"), []byte(c.Text), 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := v.recordNet(name, console{Console: c}, url, mib); err != nil {
			return nil, nil, err
		}
	}
	return []table{netTable(v, mib, o.mib)}, []string{"ratio net-fetch/wget=" + ratio(v.samples["fetchrate"], v.samples["wgetrate"])}, nil
}

// tree writes the netboot tree of the bench root with the noise, and
// returns it and the kernel command line boot.ipxe gives, on the serial
// console.
func (o *netOpts) tree(img *images) (string, []string, error) {
	tool, err := os.ReadFile(img.Init)
	if err != nil {
		return "", nil, err
	}
	noise := make([]byte, o.mib<<20)
	rand.NewChaCha8([32]byte{22}).Read(noise)
	root := filepath.Join(img.Dir, "net-root")
	if err := mklive.BusyboxTree(root, "", map[string]string{"sbin/init": guestInit, "bin/sandbox-init": string(tool), "noise": string(noise)}); err != nil {
		return "", nil, err
	}
	www := filepath.Join(img.Dir, "net-www")
	words, err := netbootTree(img, img.kernel, root, www, "loglevel=7 panic=-1 sandbox.onfail=poweroff sandbox.cowsize=64M")
	return www, words, err
}

// netbootTree writes the netboot tree of root for kernel k into www, and
// returns the kernel command line boot.ipxe gives, on the serial console.
func netbootTree(img *images, k mklive.Kernel, root, www, words string) ([]string, error) {
	start := time.Now()
	err := mklive.Netboot(mklive.NetbootSpec{URL: netServer, LiveCDSpec: mklive.LiveCDSpec{Kernel: k, Init: img.Init, Root: root, Container: "zstd",
		Out: www, Append: words}})
	if err != nil {
		return nil, err
	}
	logf("netboot tree %s in %.1f s", www, time.Since(start).Seconds())
	script, err := os.ReadFile(filepath.Join(www, "boot.ipxe"))
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`(?m)^kernel \S+ initrd=initrd.img (.*)$`).FindSubmatch(script)
	if m == nil {
		return nil, fmt.Errorf("no kernel line in %s/boot.ipxe", www)
	}
	var line []string
	for _, w := range strings.Fields(string(m[1])) {
		if w != "console=tty0" { // the serial console last: /dev/console
			line = append(line, w)
		}
	}
	return line, nil
}
