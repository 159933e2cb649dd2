package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// bootLivenet boots every variant on every link n times, alternating.
func bootLivenet(sys *images, vs []*netVariant, ls []netLink, n int) {
	var names []string
	for _, l := range ls {
		names = append(names, l.name)
	}
	bootAll("-livenet", sysVariants(vs), names, n, func(v, l, i int) error { return vs[v].bootOnce(sys, ls[l], i) })
}

func sysVariants(vs []*netVariant) []*sysVariant {
	var sv []*sysVariant
	for _, v := range vs {
		sv = append(sv, v.sysVariant)
	}
	return sv
}

// bootOnce boots the variant over link l, the guest's connections to the
// server through the relay, and records it.
func (v *netVariant) bootOnce(img *images, l netLink, i int) error {
	name := fmt.Sprintf("livenet-%s-%s-%d", l.name, v.name, i)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	linkLog := filepath.Join(img.Dir, name+".link")
	_ = os.Remove(linkLog)
	start := time.Now()
	mach := testvm.Machine{
		Name:   name,
		Kernel: img.kernel.Vmlinuz(), Initramfs: v.initrd.path,
		Append:    v.cmdline,
		MemoryMiB: livenetMemMiB,
		Timeout:   max(img.timeout, 300*time.Second),
		QEMU:      img.qemu,
		Nets:      []testvm.Net{{Forward: []string{fmt.Sprintf("tcp:%s-cmd:%s relay %d %s 127.0.0.1:%d", v.at, self, l.bps, linkLog, v.port)}}},
	}
	if err := v.bootMachine(img.Dir, l.name, mach, start); err != nil {
		return err
	}
	time.Sleep(time.Second) // the relays log when their connection closes, which may be just after QEMU exits
	bytes, secs, conns := linkFigures(linkLog)
	if bytes > 0 && secs > 0 {
		v.add(l.name, "linkrate", float64(bytes)*8/secs/1e6)
		v.add(l.name, "linkmib", float64(bytes)/(1<<20))
		v.add(l.name, "linksecs", secs)
	}
	v.add(l.name, "conns", float64(conns))
	return nil
}

// linkFigures reads the relay's log of one boot: the largest connection's
// bytes and seconds (the image's download; NBD's one socket), and the
// number of connections.
func linkFigures(path string) (int64, float64, int) {
	b, _ := os.ReadFile(path)
	var big int64
	var secs float64
	conns := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		conns++
		n, err1 := strconv.ParseInt(f[0], 10, 64)
		s, err2 := strconv.ParseFloat(f[1], 64)
		if err1 == nil && err2 == nil && n > big {
			big, secs = n, s
		}
	}
	return big, secs, conns
}

// livenetTables are the whole boot, the stage, the link and the RAM, per
// link, ours against livenet.
func livenetTables(vs []*netVariant, ls []netLink, n int, image int64, treeBytes uint64) []table {
	var names, labels []string
	for _, l := range ls {
		names, labels = append(names, l.name), append(labels, l.label())
	}
	perLink := func(title, metric, format string) table {
		return perMedium(sysVariants(vs), names, labels, title, metric, format)
	}
	up := perLink(fmt.Sprintf("Network boot of the Debian system: kernel start → multi-user.target (s; %d boots each, alternating; median (min–max))", n), "up", "%.2f")
	for _, other := range []string{"ours-http", "ours-nbd"} {
		row := []string{other + "/livenet"}
		for _, l := range ls {
			r, ok := netRatio(vs, other, "livenet", l.name, "up")
			row = append(row, map[bool]string{true: fmt.Sprintf("%.2f", r), false: "n/a"}[ok])
		}
		up.rows = append(up.rows, row)
	}
	up.notes = []string{fmt.Sprintf("One file served to all: the netboot tree's LiveOS/squashfs.img, %s (zstd squashfs holding LiveOS/rootfs.img; the Debian 12 root with the marker unit, %s of files); Debian 12's standard kernel; -m %d.", human(image), humanU(treeBytes), livenetMemMiB),
		"The link: QEMU's user network (restrict=on), each guest connection to 10.0.2.100 through the bench's relay (guestfwd to a command) that paces the server's bytes to the link's rate, to busybox httpd or nbdkit on 127.0.0.1."}
	for _, v := range vs {
		if len(v.failed) > 0 {
			up.notes = append(up.notes, fmt.Sprintf("FAILED boots of %s (not in the figures): %s.", v.name, strings.Join(v.failed, "; ")))
		}
	}
	stage := perLink(fmt.Sprintf("Initramfs stage: \"Run /init\" → the real systemd's first line (s; %d boots each)", n), "stage", "%.2f")
	rate := perLink("The link as measured by the relay: the largest connection (the image's download; NBD's one socket), Mbit/s", "linkrate", "%.0f")
	rate.notes = []string{"Bytes over that connection, MiB: " + linkBytes(vs, ls) + ". The rate is its bytes over the time from its first byte to its last: it is the link's claim met, or what the guest could take (slirp under TCG)."}
	secs := perLink("The image over the link: its connection's first byte → last byte, s (relay)", "linksecs", "%.1f")
	secs.notes = []string{"ours-http hashes each block as it comes (TCG's CPU has no SHA extensions); livenet's curl only writes; NBD's socket stays open while the system reads on demand, so its row is the whole boot's reading."}
	ram := perLink("RAM when multi-user.target is reached: MemAvailable (MiB)", "avail", "%.0f")
	ram.notes = []string{"Ours over HTTP holds the image once, in a tmpfs (Shmem; read by a loop device); livenet's curl downloads it into the initramfs's /tmp (rootfs, kept after switch_root while its loop device holds it) and dmsquash-live loops that file: once too, no copy; NBD holds no image, only the page cache of what was read."}
	return []table{up, stage, rate, secs, ram}
}

func humanU(x uint64) string { return human(int64(x)) }

// linkBytes are the MiB of each variant's largest connection, on every link.
func linkBytes(vs []*netVariant, ls []netLink) string {
	var parts []string
	for _, v := range vs {
		var xs []float64
		for _, l := range ls {
			xs = append(xs, v.samples[l.name]["linkmib"]...)
		}
		parts = append(parts, v.name+" "+cell(xs, "%.1f"))
	}
	return strings.Join(parts, ", ")
}

// netRatio is systemRatio over the variants' sysVariants.
func netRatio(vs []*netVariant, a, b, linkName, metric string) (float64, bool) {
	return systemRatio(sysVariants(vs), a, b, linkName, metric)
}

// livenetRatios are the lines for scripts: "ratio livenet-LINK A/livenet=X".
func livenetRatios(vs []*netVariant, ls []netLink) []string {
	var out []string
	for _, l := range ls {
		for _, a := range []string{"ours-http", "ours-nbd"} {
			if r, ok := netRatio(vs, a, "livenet", l.name, "up"); ok {
				out = append(out, fmt.Sprintf("ratio livenet-%s %s/livenet=%.2f", l.name, a, r))
			}
		}
	}
	return out
}
