package kmod

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Lines of Debian 12's standard kernel's modules.softdep (6.1.0-56-amd64),
// the odd "softdep cifs gcm" (no pre:) included.
const softdepFixture = `# Soft dependencies extracted from modules themselves.
softdep ext4 pre: crypto-crc32c
softdep jbd2 pre: crypto-crc32c
softdep cifs gcm
softdep ksmbd pre: crc32
softdep ksmbd pre: gcm
softdep ipmi_msghandler post: ipmi_devintf
softdep vfio post: vfio_iommu_type1 vfio_iommu_spapr_tce
softdep snd_sof_intel_hda pre: snd-hda-codec-hdmi
softdep pcengines_apuv2 pre: platform:gpio_amd_fch platform:leds-gpio platform:gpio_keys_polled
softdep x post: a pre: b c post: d
`

func TestParseSoftdep(t *testing.T) {
	sds, err := ParseSoftdep(strings.NewReader(softdepFixture))
	if err != nil {
		t.Fatal(err)
	}
	want := []SoftDep{
		{Module: "ext4", Pre: []string{"crypto-crc32c"}},
		{Module: "jbd2", Pre: []string{"crypto-crc32c"}},
		{Module: "cifs"},
		{Module: "ksmbd", Pre: []string{"crc32"}},
		{Module: "ksmbd", Pre: []string{"gcm"}},
		{Module: "ipmi_msghandler", Post: []string{"ipmi_devintf"}},
		{Module: "vfio", Post: []string{"vfio_iommu_type1", "vfio_iommu_spapr_tce"}},
		{Module: "snd_sof_intel_hda", Pre: []string{"snd-hda-codec-hdmi"}},
		{Module: "pcengines_apuv2", Pre: []string{"platform:gpio_amd_fch", "platform:leds-gpio", "platform:gpio_keys_polled"}},
		{Module: "x", Pre: []string{"b", "c"}, Post: []string{"a", "d"}},
	}
	if !reflect.DeepEqual(sds, want) {
		t.Errorf("ParseSoftdep =\n%+v\nwant\n%+v", sds, want)
	}
	if got := want[9].String(); got != "softdep x pre: b c post: a d" {
		t.Errorf("String = %q", got)
	}
	for _, bad := range []string{"softdep\n", "alias crc32c crc32c_generic\n", "pre: a\n", "softdep .ko pre: a\n"} {
		if _, err := ParseSoftdep(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseSoftdep(%q) accepted it", bad)
		}
	}
}

// A slice of Debian 12's standard kernel: ext4 and jbd2 want crypto-crc32c,
// an alias of two modules; libcrc32c wants crc32c.
const softKernelDep = `kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
kernel/crypto/crc32c_generic.ko:
kernel/lib/libcrc32c.ko:
kernel/drivers/char/ipmi/ipmi_msghandler.ko:
kernel/drivers/char/ipmi/ipmi_devintf.ko: kernel/drivers/char/ipmi/ipmi_msghandler.ko
kernel/drivers/md/dm-mod.ko:
kernel/drivers/broken.ko: kernel/drivers/gone.ko
`

const softKernelAlias = `alias crypto-crc32c-intel crc32c_intel
alias crc32c-intel crc32c_intel
alias crypto-crc32c crc32c_intel
alias crc32c crc32c_intel
alias cpu:type:x86,ven*fam*mod*:feature:*0094* crc32c_intel
alias crypto-crc32c-generic crc32c_generic
alias crc32c-generic crc32c_generic
alias crypto-crc32c crc32c_generic
alias crc32c crc32c_generic
alias fs-ext4 ext4
`

const softKernelSoftdep = `softdep ext4 pre: crypto-crc32c
softdep jbd2 pre: crypto-crc32c
softdep libcrc32c pre: crc32c
softdep ipmi_msghandler post: ipmi_devintf
softdep dm_mod pre: no_such_module broken post: dm-mod
softdep crc16 pre: crc32c
softdep crc16 pre: crc32c_generic crc32c-intel
`

func softKernel(t testing.TB) (*Deps, []Alias) {
	t.Helper()
	d, err := ParseDep(strings.NewReader(softKernelDep))
	if err != nil {
		t.Fatal(err)
	}
	as, err := ParseAlias(strings.NewReader(softKernelAlias))
	if err != nil {
		t.Fatal(err)
	}
	sds, err := ParseSoftdep(strings.NewReader(softKernelSoftdep))
	if err != nil {
		t.Fatal(err)
	}
	d.AddSoftdeps(sds, as)
	return d, as
}

func TestResolve(t *testing.T) {
	d, as := softKernel(t)
	d.Builtin["crc32"] = true
	for name, want := range map[string]string{
		"crypto-crc32c":    "crc32c_intel crc32c_generic",
		"crc32c":           "crc32c_intel crc32c_generic",
		"crypto_crc32c":    "crc32c_intel crc32c_generic", // kmod: - and _ alike
		"crc32c-generic":   "crc32c_generic",
		"crc32c-intel":     "crc32c_intel", // the module itself
		"dm-mod":           "dm_mod",
		"fs-ext4":          "ext4",
		"crc32":            "", // built in
		"no_such_module":   "",
		"crypto-crc32c-xx": "",
	} {
		if got := strings.Join(d.Resolve(name, as), " "); got != want {
			t.Errorf("Resolve(%s) = %q, want %q", name, got, want)
		}
	}
}

func TestAddSoftdeps(t *testing.T) {
	d, _ := softKernel(t)
	for mod, want := range map[string]SoftDep{
		"ext4":            {Module: "ext4", Pre: []string{"crc32c_intel", "crc32c_generic"}},
		"libcrc32c":       {Module: "libcrc32c", Pre: []string{"crc32c_intel", "crc32c_generic"}},
		"ipmi_msghandler": {Module: "ipmi_msghandler", Post: []string{"ipmi_devintf"}},
		// Unknown names dropped, and the module itself; two lines add up.
		"dm_mod": {Module: "dm_mod", Pre: []string{"broken"}},
		"crc16":  {Module: "crc16", Pre: []string{"crc32c_intel", "crc32c_generic"}},
	} {
		if got := d.Soft[mod]; !reflect.DeepEqual(got, want) {
			t.Errorf("Soft[%s] = %+v, want %+v", mod, got, want)
		}
	}
}

func TestClosureSoftdeps(t *testing.T) {
	d, _ := softKernel(t)
	got, err := d.Closure("ext4")
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range got {
		pos[m] = i
	}
	for _, m := range []string{"ext4", "jbd2", "mbcache", "crc16", "crc32c_intel", "crc32c_generic"} {
		if _, ok := pos[m]; !ok {
			t.Errorf("closure of ext4 lacks %s: %v", m, got)
		}
	}
	for _, pre := range []string{"crc32c_intel", "crc32c_generic"} {
		if pos[pre] > pos["ext4"] || pos[pre] > pos["jbd2"] {
			t.Errorf("pre soft dependency %s after the module wanting it: %v", pre, got)
		}
	}
	// Post soft dependencies come in after the module.
	got, err = d.Closure("ipmi_msghandler")
	if err != nil || strings.Join(got, " ") != "ipmi_msghandler ipmi_devintf" {
		t.Errorf("Closure(ipmi_msghandler) = %v, %v", got, err)
	}
	// A soft dependency whose own dependency is missing is skipped: dm_mod
	// wants broken, which needs gone. Missing hard ones still fail.
	got, err = d.Closure("dm_mod")
	if err != nil || strings.Join(got, " ") != "dm_mod" {
		t.Errorf("Closure(dm_mod) = %v, %v", got, err)
	}
	if _, err := d.Closure("broken"); err == nil {
		t.Error("a missing hard dependency was skipped")
	}
	// A loop of soft dependencies ends.
	d.Soft["crc32c_generic"] = SoftDep{Module: "crc32c_generic", Pre: []string{"ext4"}}
	if got, err = d.Closure("ext4"); err != nil || !slices.Contains(got, "crc32c_generic") {
		t.Errorf("soft loop: %v, %v", got, err)
	}
}

func TestWriteSoftdep(t *testing.T) {
	d, _ := softKernel(t)
	var b bytes.Buffer
	// crc32c_intel is not taken: it is left out of ext4's line; dm_mod's
	// only soft dependency is not taken: no line.
	if err := d.WriteSoftdep(&b, []string{"crc32c_generic", "jbd2", "ext4", "dm_mod", "ipmi_msghandler", "ipmi_devintf"}); err != nil {
		t.Fatal(err)
	}
	want := "softdep jbd2 pre: crc32c_generic\nsoftdep ext4 pre: crc32c_generic\nsoftdep ipmi_msghandler post: ipmi_devintf\n"
	if b.String() != want {
		t.Errorf("WriteSoftdep =\n%s\nwant\n%s", b.String(), want)
	}
	// What the initramfs carries reads back to the same, with no aliases.
	sds, err := ParseSoftdep(&b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := ParseDep(strings.NewReader(softKernelDep))
	again.AddSoftdeps(sds, nil)
	if got := again.Soft["ext4"].Pre; !reflect.DeepEqual(got, []string{"crc32c_generic"}) {
		t.Errorf("read back: ext4 pre %v", got)
	}
}

func FuzzParseSoftdep(f *testing.F) {
	f.Add(softdepFixture)
	f.Add(softKernelSoftdep)
	f.Add("softdep a pre: b post: c\n# comment\n\nsoftdep d\n")
	f.Add("softdep a post: pre: post:\nsoftdep b/c.ko.xz pre: [a-b]-x\n")
	f.Fuzz(func(t *testing.T, s string) {
		sds, err := ParseSoftdep(strings.NewReader(s))
		if err != nil {
			return
		}
		var b strings.Builder
		for _, sd := range sds {
			if sd.Module == "" || strings.ContainsAny(sd.Module, " \t\n") {
				t.Fatalf("module name %q", sd.Module)
			}
			b.WriteString(sd.String() + "\n")
		}
		// A parsed file written out reads back the same.
		again, err := ParseSoftdep(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("%q: %v", b.String(), err)
		}
		if len(again) != len(sds) {
			t.Fatalf("%d lines read back as %d", len(sds), len(again))
		}
		for i := range sds {
			if sds[i].String() != again[i].String() {
				t.Fatalf("%q read back as %q", sds[i], again[i])
			}
		}
		// Resolving against a kernel never panics and never names a
		// module the kernel lacks or the module itself.
		d, _ := ParseDep(strings.NewReader(softKernelDep))
		as, _ := ParseAlias(strings.NewReader(softKernelAlias))
		d.AddSoftdeps(sds, as)
		for mod, sd := range d.Soft {
			for _, m := range append(append([]string(nil), sd.Pre...), sd.Post...) {
				if _, ok := d.Path[m]; !ok || m == mod {
					t.Fatalf("soft dependency %s of %s", m, mod)
				}
			}
		}
		if _, err := d.Closure("ext4", "dm_mod"); err != nil {
			t.Fatal(err)
		}
	})
}
