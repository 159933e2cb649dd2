package config

import (
	"strings"
	"testing"
)

// Each typed value, as the command line gives it: what it parses to, what
// it says of itself, and its spelling back.
func TestTypedValues(t *testing.T) {
	for _, tc := range []struct {
		line  string
		check func(c Config) bool
		spelt map[string]string // the rendered parameters, by key
	}{
		{"sandbox.cow=ram0", func(c Config) bool { return c.COW == COWRAM && c.COW.InRAM() }, map[string]string{"cow": "ram0"}},
		{"sandbox.cow=zram", func(c Config) bool { return c.COW.Kind == COWZram && c.COW.InRAM() }, map[string]string{"cow": "zram"}},
		{"sandbox.cow=/dev/vdb", func(c Config) bool { return c.COW == DiskCOW("/dev/vdb") && !c.COW.InRAM() }, map[string]string{"cow": "/dev/vdb"}},
		{"sandbox.store=n", func(c Config) bool { return c.Store == StoreN }, map[string]string{"store": "N"}},
		{"sandbox.store=po", func(c Config) bool { return c.Store == StorePO }, map[string]string{"store": "PO"}},
		{"sandbox.toram=auto", func(c Config) bool { return c.ToRAM == AutoYes }, map[string]string{"toram": "auto"}},
		{"sandbox.toram=yes", func(c Config) bool { return c.ToRAM == Yes }, map[string]string{"toram": "yes"}},
		{"sandbox.toram=no", func(c Config) bool { return c.ToRAM == No }, map[string]string{"toram": "no"}},
		{"sandbox.grow=no", func(c Config) bool { return c.Grow.Off() }, map[string]string{"grow": "no"}},
		{"sandbox.grow=auto", func(c Config) bool { return c.Grow.Auto && !c.Grow.Off() }, map[string]string{"grow": "auto"}},
		{"sandbox.grow=4096M", func(c Config) bool { return c.Grow == Grow{To: 4 << 30} && !c.Grow.Off() }, map[string]string{"grow": "4G"}},
		{"sandbox.cd=auto", func(c Config) bool { return c.CD == Auto }, map[string]string{"cd": "auto"}},
		{"sandbox.cd=LABEL=MY LIVE", func(c Config) bool { return c.CD == Label("MY LIVE") }, map[string]string{"cd": "LABEL=MY LIVE"}},
		{"sandbox.cd=/dev/sr1", func(c Config) bool { return c.CD == Path("/dev/sr1") && c.CD.IsPath() }, map[string]string{"cd": "/dev/sr1"}},
		{"sandbox.origin=/dev/sda1", func(c Config) bool { return c.Origin == Path("/dev/sda1") }, map[string]string{"origin": "/dev/sda1"}},
	} {
		c, err := Parse(strings.Replace(tc.line, "LABEL=MY LIVE", `"LABEL=MY LIVE"`, 1))
		if err != nil || !tc.check(c) {
			t.Errorf("%s: %+v, %v", tc.line, c, err)
			continue
		}
		p := c.Params()
		for k, v := range tc.spelt {
			if p[Prefix+k] != v {
				t.Errorf("%s renders %s=%q, want %q", tc.line, k, p[Prefix+k], v)
			}
		}
	}
	for line, want := range map[string]string{
		"sandbox.cow=zram sandbox.persistent=P":                     "needs a COW device that survives a reboot, not zram",
		"sandbox.grow=50%":                                          "is not no, auto or a size",
		"sandbox.toram=maybe":                                       "is not no, yes or auto",
		"sandbox.store=P":                                           "is not a snapshot store",
		"sandbox.cow=ram1":                                          "is not an absolute path",
		"sandbox.cd=LABEL=":                                         "is not an absolute path",
		"sandbox.iso=auto:/x.iso":                                   "names no device before ':' (is not an absolute path)",
		"sandbox.iso=UUID=:/x.iso":                                  "has an empty label or UUID",
		"sandbox.origin=/dev/sda sandbox.cow=/dev/sda":              "is the origin device too",
		"sandbox.origin=/dev/sda sandbox.toram=auto":                "sandbox.origin has none",
		"sandbox.cow=/dev/sdb sandbox.persistent=P sandbox.store=N": "keeps nothing on the COW device",
	} {
		if _, err := Parse(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want …%s…", line, err, want)
		}
	}
}
