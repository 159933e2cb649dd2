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
		"sandbox.persistent=P sandbox.cow=/dev/sdb", "sandbox.iso=LABEL=STICK:/isos/live.iso sandbox.grow=4096M sandbox.toram=auto",
		"sandbox.origin=/dev/sda1 sandbox.cow=/dev/sda1", "sandbox.cd=UUID=2026-11-26-02-55-00-00 sandbox.store=n sandbox.grow=auto",
		"sandbox.url=http://10.0.2.100/a.img,http://b/c sandbox.net=52:54:00:AB:cd:ef sandbox.netwait=30s", "ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:off BOOTIF=01-52-54-00-12-34-56", "sandbox.url=dhcp ip=eth1:dhcp6", "\xff sandbox.name=\xfe", strings.Repeat("sandbox.chunk=1 ", 200),
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
		if c.Store != StorePO && c.Store != StoreN {
			t.Errorf("accepted store %q", c.Store)
		}
		if c.Persistent && c.COW.InRAM() {
			t.Errorf("accepted a persistent RAM COW")
		}
		if c.CD.IsZero() || c.Origin.Kind != RefNone && c.Origin.Kind != RefPath || c.ISO.Dev.Kind == RefAuto {
			t.Errorf("accepted device references cd %+v origin %+v iso %+v", c.CD, c.Origin, c.ISO)
		}
		if c.COW.Kind == COWDisk && !strings.HasPrefix(c.COW.Dev, "/dev/") || c.COW.Kind != COWDisk && c.COW.Dev != "" {
			t.Errorf("accepted COW store %+v", c.COW)
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

// FuzzDevRef: a device reference ParseDevRef accepts is spelled back as it
// was given, and reads back the same; a path is a clean one under /dev/, a
// label or UUID is not empty.
func FuzzDevRef(f *testing.F) {
	for _, s := range []string{"auto", "LABEL=LIVE", "UUID=2026-11-26-02-55-00-00", "/dev/sr0", "/dev/../sda", "LABEL=", "UUID=", "/dev/", "label=x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r, err := ParseDevRef(v)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		if r.String() != v {
			t.Errorf("ParseDevRef(%q) = %+v, spelled %q", v, r, r.String())
		}
		if again, err := ParseDevRef(r.String()); err != nil || again != r {
			t.Errorf("ParseDevRef(%q) again: %+v, %v; want %+v", v, again, err, r)
		}
		switch r.Kind {
		case RefPath:
			if !strings.HasPrefix(r.Value, "/dev/") || strings.Contains(r.Value, "/../") || strings.HasSuffix(r.Value, "/..") {
				t.Errorf("accepted path %q", r.Value)
			}
		case RefLabel, RefUUID:
			if r.Value == "" {
				t.Errorf("accepted an empty label or UUID: %q", v)
			}
		case RefAuto:
			if v != "auto" {
				t.Errorf("%q is auto", v)
			}
		default:
			t.Errorf("%q: kind %d", v, r.Kind)
		}
	})
}

// FuzzISO: a sandbox.iso value Parse accepts renders back as itself (":/f"
// as /f: an empty device part is none), with a clean absolute file part and a device part that is no search word.
func FuzzISO(f *testing.F) {
	for _, s := range []string{"/isos/live.iso", "LABEL=STICK:/isos/live.iso", "UUID=1234-ABCD:/live.iso", "/dev/sdb1:/live.iso", "auto:/x.iso", "/dev/sdb1", "LABEL=:/x", "/a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := Parse(`sandbox.iso="` + v + `"`)
		if err != nil || strings.ContainsAny(v, "\" \t\n\r\v\f") {
			return
		}
		spelled := c.ISO.String()
		if spelled != v && ":"+spelled != v || c.ISO.Dev.Kind == RefAuto || !strings.HasPrefix(c.ISO.File, "/") || c.ISO.File == "/" {
			t.Errorf("sandbox.iso=%q: %+v spelled %q", v, c.ISO, c.ISO.String())
		}
	})
}
