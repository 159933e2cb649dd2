package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// reFetched is the fetch step's last line: the bytes, the time, the tries.
var reFetched = regexp.MustCompile(`net: (\S+): [0-9.]+ [KMG]iB into RAM in ([0-9.]+)(ms|s) \([^,]*, (\d+) tries\)`)

// recordNet takes one boot's figures: Run /init to switch_root (kernel
// stamps), the net and fetch steps (state.json), the download's own time
// and rate, and the raw rate of the guest's wget.
func (v *variant) recordNet(name string, c console, url string, mib float64) error {
	if !c.Contains("\nBENCH done") {
		return fmt.Errorf("%s: the real init did not finish (no \"BENCH done\")%s", name, c.tail())
	}
	tRun, err := c.mustStamp(name, reRunInit)
	if err != nil {
		return err
	}
	line, _ := c.value("kmsg_switch")
	tSwitch, ok := testvm.Console{Text: line}.KernelStamp("")
	if !ok {
		return fmt.Errorf("%s: no switch_root line in dmesg%s", name, c.tail())
	}
	v.add("toswitch", tSwitch-tRun)
	v.add("permib", (tSwitch-tRun)/mib)
	m := reFetched.FindStringSubmatch(c.Text)
	if m == nil || m[1] != url {
		return fmt.Errorf("%s: no fetch line for %s%s", name, url, c.tail())
	}
	took, _ := strconv.ParseFloat(m[2], 64)
	if m[3] == "ms" {
		took /= 1000
	}
	tries, _ := strconv.Atoi(m[4])
	v.add("fetch", took)
	v.add("fetchrate", mib/took)
	v.add("tries", float64(tries))
	st, err := c.sandboxState(name)
	if err != nil {
		return err
	}
	for _, p := range st.Phases {
		if p.Name == "net" {
			v.add("netphase", p.Millis/1000)
		}
	}
	w := strings.Fields(func() string { s, _ := c.value("wget"); return s }())
	if len(w) != 3 || w[0] != "ok" {
		return fmt.Errorf("%s: the guest's wget of %s: %q%s", name, url, w, c.tail())
	}
	t0, _ := strconv.ParseFloat(w[1], 64)
	t1, _ := strconv.ParseFloat(w[2], 64)
	v.add("wgetrate", mib/max(t1-t0, 0.01))
	return nil
}

func netTable(v *variant, mib float64, noise int) table {
	s := v.samples
	return table{
		title: "Network boot (bench net): the tree mklive netboot writes, over QEMU's user network",
		head:  []string{"metric", "median (min–max)"},
		rows: [][]string{
			{"image (zstd container, " + strconv.Itoa(noise) + " MiB of noise), MiB", fmt.Sprintf("%.1f", mib)},
			{"Run /init → switch_root, s", cell(s["toswitch"], "%.2f")},
			{"  per MiB of the image, s", cell(s["permib"], "%.3f")},
			{"net step (driver, link, DHCP), s", cell(s["netphase"], "%.2f")},
			{"download of the image (each block hashed as it comes), s", cell(s["fetch"], "%.2f")},
			{"download rate, MiB/s", cell(s["fetchrate"], "%.1f")},
			{"raw rate of the link (guest's wget to /dev/null), MiB/s", cell(s["wgetrate"], "%.1f")},
			{"download/raw", ratio(s["fetchrate"], s["wgetrate"])},
			{"tries", cell(s["tries"], "%.0f")},
		},
		notes: []string{
			"busybox httpd runs per connection (QEMU's guestfwd to a command): the link is QEMU's user network (slirp) under TCG, not a wire",
			"the download's time is the fetch step's own (sandbox-init's last net line); the raw rate is the booted system's busybox wget of the same URL, timed by /proc/uptime (10 ms)",
			"TCG has no SHA extensions: each block's hash costs CPU the raw wget does not spend",
		},
	}
}
