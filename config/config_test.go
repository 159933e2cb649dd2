package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := Parse("BOOT_IMAGE=/boot/vmlinuz console=ttyS0 quiet")
	if err != nil {
		t.Fatal(err)
	}
	if c != Default() {
		t.Errorf("Parse of a line without sandbox.* = %+v, want the defaults %+v", c, Default())
	}
	d := Default()
	if d.COW != COWRAM || d.Image != "/initrd-ext2" || d.CDMount != "/mnt2" || d.Persistent || d.Store != StorePO || d.Chunk != 0 || d.COWSize.Percent != 50 {
		t.Errorf("defaults drifted from the README: %+v", d)
	}
}

func TestParseAll(t *testing.T) {
	c, err := Parse(`console=ttyS0 sandbox.cd=/dev/hdc sandbox.image=/live/root.img sandbox.cdmount=/media/cd/ ` +
		`sandbox.cow=/dev/vdb sandbox.cowsize=2G sandbox.chunk=16 sandbox.persistent=P sandbox.name=live ` +
		`sandbox.fstype=ext4 sandbox.wait=500ms sandbox.init=/lib/systemd/systemd sandbox.onfail=reboot`)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{CD: Path("/dev/hdc"), Image: "/live/root.img", CDMount: "/media/cd", ToRAM: No, Grow: Grow{}, COW: DiskCOW("/dev/vdb"),
		COWSize: Size{Bytes: 2 << 30}, Chunk: 16, Persistent: true, Store: StorePO, Name: "live", FSType: "ext4",
		Wait: 500 * time.Millisecond, Init: "/lib/systemd/systemd", OnFail: OnFailReboot, ZAlgo: "lzo-rle", Watch: time.Second, OnCorrupt: "error"}
	if c != want {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestZramAndWatch(t *testing.T) {
	c, err := Parse("sandbox.cow=zram sandbox.zalgo=zstd sandbox.watch=0")
	if err != nil || c.COW != COWZRAM || c.ZAlgo != "zstd" || c.Watch != 0 {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestInit(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"init=/bin/sh", "/bin/sh"},
		{"init=/bin/sh sandbox.init=/sbin/real", "/sbin/real"},
		{"sandbox.init=/sbin/real init=/bin/sh", "/sbin/real"},
		{"-- init=/bin/sh", "/sbin/init"}, // after --, words belong to init
	} {
		c, err := Parse(tc.line)
		if err != nil || c.Init != tc.want {
			t.Errorf("Parse(%q).Init = %q, %v; want %q", tc.line, c.Init, err, tc.want)
		}
	}
}

func TestQuotes(t *testing.T) {
	got := Fields(`a "b c" d="e f" "" g`)
	want := []string{"a", "b c", "d=e f", "", "g"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Fields = %q, want %q", got, want)
	}
	c, err := Parse(`sandbox.image="/live/root.img"`)
	if err != nil || c.Image != "/live/root.img" {
		t.Errorf("quoted value: %q %v", c.Image, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string // each must appear in the error
	}{
		{"sandbox.chunk=3", []string{`sandbox.chunk="3"`, "power of two", "accepted:"}},
		{"sandbox.chunk=0", []string{"power of two"}},
		{"sandbox.chunk=4194304", []string{"power of two in range"}},
		{"sandbox.chunk=x", []string{"not a whole number"}},
		{"sandbox.cowsize=0%", []string{"percentage"}},
		{"sandbox.cowsize=101%", []string{"percentage"}},
		{"sandbox.cowsize=12Q", []string{"not a size"}},
		{"sandbox.cowsize=100K", []string{"smaller than 1M"}},
		{"sandbox.cowsize=99999999T", []string{"too large"}},
		{"sandbox.cow=ram1", []string{`sandbox.cow="ram1"`, "absolute path"}},
		{"sandbox.cow=/dev/../etc/x", []string{"clean path under /dev/"}},
		{"sandbox.cd=sr0", []string{"absolute path"}},
		{"sandbox.cd=UUID=", []string{"not an ISO 9660 one"}},
		{"sandbox.cd=UUID=2026112602550000", []string{"YYYY-MM-DD-hh-mm-ss-cc"}},
		{"sandbox.cd=UUID=2026-11-26-02-55-00", []string{"not an ISO 9660 one"}},
		{"sandbox.cd=UUID=2026-11-26-02-55-00-0x", []string{"not an ISO 9660 one"}},
		{"sandbox.cd=UUID=2026-11-26-02:55-00-00", []string{"not an ISO 9660 one"}},
		{"sandbox.image=relative", []string{"absolute path"}},
		{"sandbox.image=/", []string{"root directory"}},
		{"sandbox.cdmount=/", []string{"hide the whole new root"}},
		{"sandbox.persistent=maybe", []string{"yes/no"}},
		{"sandbox.name=a/b", []string{"character '/'"}},
		{"sandbox.fstype=EXT4", []string{"character 'E'"}},
		{"sandbox.wait=-1s", []string{"out of range"}},
		{"sandbox.wait=forever", []string{"not a duration"}},
		{"sandbox.onfail=explode", []string{"not an action", "shell, reboot, poweroff or halt"}},
		{"sandbox.colour=blue", []string{`sandbox.colour="blue" is not a sandbox-init parameter`, "sandbox.{cd,image"}},
		{"sandbox.chunk=8 sandbox.chunk=16", []string{"given twice"}},
		{"sandbox.chunk", []string{"has no value"}},
		{"sandbox.persistent=P", []string{"survives a reboot"}},
		{"sandbox.store=P", []string{"not a snapshot store", "PO"}},
		{"sandbox.iso=live.iso", []string{"not an absolute path"}},
		{"sandbox.iso=LABEL=:/live.iso", []string{"empty label"}},
		{"sandbox.iso=/dev/sdb1:live.iso", []string{"file part", "absolute path"}},
		{"sandbox.iso=/dev/../x:/a.iso", []string{"names no device"}},
		{"sandbox.iso=/a.iso sandbox.cd=/dev/sr0", []string{"takes the CD's place"}},
		{"sandbox.toram=maybe", []string{"not no, yes or auto"}},
		{"sandbox.grow=50%", []string{"not no, auto or a size"}},
		{"sandbox.toram=yes sandbox.origin=/dev/sda", []string{"sandbox.origin has none"}},
		{"sandbox.store=N sandbox.persistent=P sandbox.cow=/dev/sdb", []string{"sandbox.persistent=P cannot work"}},
		{"sandbox.origin=/dev/sda sandbox.image=/x", []string{"either sandbox.origin or sandbox.cd/sandbox.image"}},
		{"sandbox.origin=/dev/sda sandbox.cow=/dev/sda", []string{"origin device too"}},
		{"init=relative", []string{"init=", "absolute path"}},
		{"sandbox.zalgo=gzip sandbox.cow=zram", []string{"not a zram compressor"}},
		{"sandbox.zalgo=lz4", []string{"only applies to sandbox.cow=zram"}},
		{"sandbox.watch=1ms", []string{"out of range"}},
		{"sandbox.watch=2h", []string{"out of range"}},
		{"sandbox.wait=11m", []string{"out of range"}},
		{"sandbox.image=/\xff\xfe", []string{"not valid UTF-8"}},
	} {
		_, err := Parse(tc.line)
		if err == nil {
			t.Errorf("Parse(%q) accepted it", tc.line)
			continue
		}
		var pe *ParamError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error %T is not a *ParamError", tc.line, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q) = %q, lacks %q", tc.line, err, w)
			}
		}
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, err := Parse("sandbox.chunk=3 sandbox.onfail=x sandbox.nope=1")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, k := range []string{"sandbox.chunk", "sandbox.onfail", "sandbox.nope"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not name %s", err, k)
		}
	}
}

func TestOnFailSurvivesOtherErrors(t *testing.T) {
	c, err := Parse("sandbox.chunk=3 sandbox.onfail=poweroff")
	if err == nil || c.OnFail != OnFailPoweroff {
		t.Errorf("OnFail = %q, %v: a bad line must still carry its failure action", c.OnFail, err)
	}
}

func TestSize(t *testing.T) {
	for in, want := range map[string]uint64{"1M": 1 << 20, "512M": 512 << 20, "2G": 2 << 30, "2GiB": 2 << 30, "65536K": 64 << 20, "1048576": 1 << 20, "1t": 1 << 40} {
		s, err := ParseSize(in)
		if err != nil || s.Bytes != want {
			t.Errorf("ParseSize(%q) = %+v, %v; want %d", in, s, err, want)
		}
	}
	s, _ := ParseSize("25%")
	if got := s.Resolve(1000 << 20); got != 250<<20 {
		t.Errorf("25%% of 1000M = %d", got)
	}
	if FormatBytes(3<<30) != "3G" || FormatBytes(1536<<10) != "1536K" || FormatBytes(1000) != "1000" {
		t.Error("FormatBytes")
	}
}

func TestModuleParams(t *testing.T) {
	got := ModuleParams(`brd.rd_size=1024 sandbox.cow=ram0 dm-mod.major=0 brd.rd_nr=2 quiet console=ttyS0 x.y="a b" -- brd.max_part=1`)
	want := map[string]string{"brd": "rd_size=1024 rd_nr=2", "dm_mod": "major=0", "x": `y=a b`}
	if len(got) != len(want) {
		t.Fatalf("ModuleParams = %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ModuleParams[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestMemTotal(t *testing.T) {
	n, err := MemTotal("MemFree: 1 kB\nMemTotal:       481296 kB\n")
	if err != nil || n != 481296<<10 {
		t.Errorf("MemTotal = %d, %v", n, err)
	}
	if _, err := MemTotal("nothing"); err == nil {
		t.Error("MemTotal accepted a file without the line")
	}
}

// The README's parameter table must list every key Parse accepts.
func TestREADMEListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if !strings.Contains(string(b), "| `"+k[0]+"` |") {
			t.Errorf("README's parameter table lacks %s", k[0])
		}
	}
}

func TestCommandLineRoundTrip(t *testing.T) {
	for _, line := range []string{
		"",
		`sandbox.cd=LABEL=LIVE sandbox.image="/a b/root.img" sandbox.cowsize=1536K sandbox.wait=1m30s sandbox.watch=0`,
		"sandbox.origin=/dev/sda1 sandbox.cow=zram sandbox.zalgo=zstd sandbox.chunk=64 sandbox.onfail=halt",
		"sandbox.cow=/dev/sdb sandbox.persistent=yes sandbox.cowsize=1048577",
	} {
		c, err := Parse(line)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(c.CommandLine())
		if err != nil || again != c {
			t.Errorf("%q -> %q -> %+v, %v; want %+v", line, c.CommandLine(), again, err, c)
		}
	}
	if got := Default().Params()["sandbox.cowsize"]; got != "50%" {
		t.Errorf("default cowsize renders as %q", got)
	}
}

func TestISOFile(t *testing.T) {
	for v, want := range map[string]ISORef{
		"/isos/live.iso":             {File: "/isos/live.iso"},
		"LABEL=STICK:/isos/live.iso": {Label("STICK"), "/isos/live.iso"},
		"UUID=1234-ABCD:/live.iso":   {UUID("1234-ABCD"), "/live.iso"},
		"/dev/sdb1:/live.iso":        {Path("/dev/sdb1"), "/live.iso"},
	} {
		c, err := Parse("sandbox.iso=" + v)
		if err != nil {
			t.Errorf("sandbox.iso=%s: %v", v, err)
			continue
		}
		if c.ISO != want || c.ISO.String() != v {
			t.Errorf("sandbox.iso=%s: %+v (%s); want %+v", v, c.ISO, c.ISO, want)
		}
		again, err := Parse(c.CommandLine())
		if err != nil || again != c {
			t.Errorf("round trip of %q: %+v, %v", v, again, err)
		}
	}
}

func TestCDUUID(t *testing.T) {
	c, err := Parse("sandbox.cd=UUID=2026-11-26-02-55-00-00")
	if err != nil || c.CD != UUID("2026-11-26-02-55-00-00") {
		t.Fatalf("sandbox.cd=UUID=…: %q, %v", c.CD, err)
	}
	for u, want := range map[string]bool{
		"2026-11-26-02-55-00-00": true, "0000-00-00-00-00-00-01": true,
		"": false, "2026-11-26-02-55-00-000": false, "2026_11-26-02-55-00-00": false, "20261126025500001234zz": false,
	} {
		if ISOUUID(u) != want {
			t.Errorf("ISOUUID(%q) = %v, want %v", u, !want, want)
		}
	}
}

func TestVerityParams(t *testing.T) {
	root := strings.Repeat("aB", 32)
	c, err := Parse("sandbox.verity=" + root + " sandbox.oncorrupt=restart")
	if err != nil || c.Verity != strings.ToLower(root) || c.OnCorrupt != "restart" {
		t.Fatalf("got %q %q, %v", c.Verity, c.OnCorrupt, err)
	}
	if c.Params()["sandbox.verity"] != strings.ToLower(root) {
		t.Errorf("Params: %v", c.Params())
	}
	if c, err := Parse("sandbox.verity=off"); err != nil || c.Verity != "" {
		t.Errorf("off: %q %v", c.Verity, err)
	}
	for _, line := range []string{
		"sandbox.verity=abc",                                   // too short
		"sandbox.verity=" + strings.Repeat("zz", 32),           // not hex
		"sandbox.verity=" + root + " sandbox.origin=/dev/sda1", // no image file
		"sandbox.oncorrupt=panic",                              // without verity
		"sandbox.verity=" + root + " sandbox.oncorrupt=ignore",
		"sandbox.name=" + strings.Repeat("n", 121),
	} {
		if _, err := Parse(line); err == nil {
			t.Errorf("%q accepted", line)
		}
	}
}
