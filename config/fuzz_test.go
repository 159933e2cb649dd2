package config

import (
	"strings"
	"testing"
)

// FuzzParse: whatever the command line, Parse returns (never panics), and a
// configuration it accepts is one it would accept again from its own values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "console=ttyS0 sandbox.cow=ram0", `sandbox.image="/a b"`, "sandbox.chunk=16 sandbox.chunk=16",
		"sandbox.cowsize=50% sandbox.wait=2m", "init=/bin/sh -- sandbox.x", "sandbox.=", "sandbox.cd=LABEL=LIVE",
		"sandbox.persistent=P sandbox.cow=/dev/sdb",
		"sandbox.url=http://10.0.2.100/a.img,http://b/c sandbox.net=52:54:00:AB:cd:ef sandbox.netwait=30s", "ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:off BOOTIF=01-52-54-00-12-34-56", "\xff sandbox.name=\xfe", strings.Repeat("sandbox.chunk=1 ", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := Parse(line)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		if c.Chunk&(c.Chunk-1) != 0 {
			t.Errorf("accepted chunk %d", c.Chunk)
		}
		if !strings.HasPrefix(c.Init, "/") || !strings.HasPrefix(c.Image, "/") || !strings.HasPrefix(c.CDMount, "/") {
			t.Errorf("accepted relative paths: %+v", c)
		}
		if c.Store != "PO" && c.Store != "N" {
			t.Errorf("accepted store %q", c.Store)
		}
		if c.Persistent && (c.COW == "ram0" || c.COW == "zram") {
			t.Errorf("accepted a persistent RAM COW")
		}
		switch c.OnFail {
		case OnFailShell, OnFailReboot, OnFailPoweroff, OnFailHalt:
		default:
			t.Errorf("accepted onfail %q", c.OnFail)
		}
		// What Parse accepts, it renders back to a line it parses the same.
		line2 := c.CommandLine()
		c2, err := Parse(line2)
		if err != nil {
			t.Fatalf("Parse(%q) = %v, rendered from %q", line2, err, line)
		}
		if strings.Contains(line, "init=") {
			c2.Init = c.Init // init= outside sandbox.* renders as sandbox.init
		}
		c2.KernelIP, c2.BootIF = c.KernelIP, c.BootIF // the kernel's and PXELINUX's, not rendered
		if c2 != c {
			t.Errorf("round trip of %q via %q:\n got  %+v\n want %+v", line, line2, c2, c)
		}
	})
}
