package modpolicy

import (
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/kmod"
)

func parse(t *testing.T, line string) config.Config {
	t.Helper()
	c, err := config.Parse(line)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFor(t *testing.T) {
	for _, tc := range []struct {
		line                string
		required, optional  []string // each must be there
		notReq, notOptional []string // each must not
	}{
		{"", []string{"dm_snapshot", "loop", "isofs", "brd"}, []string{"sr_mod", "ata_piix", "ext4", "squashfs", "dm_zero"},
			[]string{"zram", "dm_zero", "dm_verity"}, []string{"virtio_net", "vfat"}},
		{"sandbox.origin=/dev/sda", []string{"dm_snapshot", "brd"}, []string{"sd_mod"}, []string{"isofs", "loop"}, nil},
		{"sandbox.cow=zram sandbox.zalgo=zstd", []string{"zram", "zstd"}, nil, []string{"brd"}, nil},
		{"sandbox.cow=/dev/sdb", nil, nil, []string{"brd", "zram"}, nil},
		{"sandbox.grow=auto", []string{"dm_zero"}, nil, nil, nil},
		{"sandbox.iso=/x.iso", []string{"loop", "isofs"}, []string{"vfat", "exfat", "nls_cp437"}, nil, nil},
		{"sandbox.verity=" + strings.Repeat("ab", 32), []string{"dm_verity"}, []string{"sha256_ssse3"}, nil, nil},
		{"sandbox.url=http://10.0.2.100/LiveOS/squashfs.img", nil, []string{"virtio_net", "e1000e"}, nil, nil},
	} {
		req, opt := For(parse(t, tc.line))
		for _, m := range tc.required {
			if !slices.Contains(req, m) {
				t.Errorf("%q: %s not required: %v", tc.line, m, req)
			}
		}
		for _, m := range tc.optional {
			if !slices.Contains(opt, m) {
				t.Errorf("%q: %s not optional: %v", tc.line, m, opt)
			}
		}
		for _, m := range tc.notReq {
			if slices.Contains(req, m) {
				t.Errorf("%q: %s required: %v", tc.line, m, req)
			}
		}
		for _, m := range tc.notOptional {
			if slices.Contains(opt, m) {
				t.Errorf("%q: %s optional: %v", tc.line, m, opt)
			}
		}
	}
}

// What the init waits for at the COW step is what For asks for any RAM
// store, and every zram compressor For can ask for is one.
func TestCOWStores(t *testing.T) {
	all := COWStores()
	for _, algo := range []string{"lzo-rle", "lzo", "lz4", "lz4hc", "zstd", "842"} {
		req, _ := For(parse(t, "sandbox.cow=zram sandbox.zalgo="+algo))
		for _, m := range req {
			if m != "dm_snapshot" && m != "loop" && m != "isofs" && !slices.Contains(all, m) {
				t.Errorf("zalgo=%s requires %s, which COWStores lacks: %v", algo, m, all)
			}
		}
	}
	if req, _ := For(config.Default()); !slices.Contains(all, "brd") || !slices.Contains(req, "brd") {
		t.Errorf("COWStores %v, default required %v", all, req)
	}
}

// Default carries every configuration's required modules (as required or
// optional), and Configured adds the drivers but none of another
// configuration's own modules.
func TestDefaultAndConfigured(t *testing.T) {
	dreq, dopt := Default()
	for _, line := range []string{"", "sandbox.origin=/dev/sda", "sandbox.cow=zram", "sandbox.iso=/x.iso", "sandbox.grow=2G",
		"sandbox.verity=" + strings.Repeat("ab", 32)} {
		req, _ := For(parse(t, line))
		for _, m := range req {
			if !slices.Contains(dreq, m) && !slices.Contains(dopt, m) {
				t.Errorf("%q requires %s, which the default initramfs lacks", line, m)
			}
		}
	}
	c := config.Default()
	req, opt := Configured(c)
	all := strings.Join(append(req, opt...), " ")
	for _, m := range []string{"dm_snapshot", "loop", "isofs", "brd", "ata_piix", "sr_mod", "sd_mod", "nvme", "usb_storage"} {
		if !strings.Contains(all, m) {
			t.Errorf("default config lacks %s: %s", m, all)
		}
	}
	for _, m := range []string{"zram", "lzo-rle", "vfat", "dm_verity", "sha256_ssse3"} {
		if slices.Contains(req, m) || slices.Contains(opt, m) {
			t.Errorf("a brd config carries %s: %s", m, all)
		}
	}
	c.COW = config.COWZRAM
	req, _ = Configured(c)
	if j := strings.Join(req, " "); !strings.Contains(j, "zram") || !strings.Contains(j, "lzo-rle") || strings.Contains(j, "brd") {
		t.Errorf("zram config requires %s", j)
	}
}

func TestContainer(t *testing.T) {
	d, err := kmod.ParseDep(strings.NewReader(`kernel/fs/squashfs/squashfs.ko: kernel/lib/zstd/zstd_decompress.ko kernel/lib/zstd/zstd_common.ko
kernel/lib/zstd/zstd_decompress.ko: kernel/lib/zstd/zstd_common.ko
kernel/lib/zstd/zstd_common.ko:
kernel/fs/ext4/ext4.ko:
`))
	if err != nil {
		t.Fatal(err)
	}
	d.Builtin = map[string]bool{"xz_dec": true}
	if got := Container(d, "zstd"); !slices.Equal(got, []string{"squashfs", "zstd_common", "zstd_decompress", "ext4"}) {
		t.Errorf("zstd, decompressor a module: %v", got)
	}
	if got := Container(d, "xz"); !slices.Equal(got, []string{"squashfs", "ext4"}) {
		t.Errorf("xz, decompressor built in: %v", got)
	}
	none, err := kmod.ParseDep(strings.NewReader("kernel/fs/ext4/ext4.ko:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Closure(Container(none, "xz")...); err == nil || !strings.Contains(err.Error(), "squashfs") {
		t.Errorf("a kernel without squashfs: %v", err)
	}
}

func TestNBDModules(t *testing.T) {
	c, err := config.Parse("sandbox.url=nbd://10.0.2.100/squashfs.img")
	if err != nil {
		t.Fatal(err)
	}
	if req, opt := For(c); !slices.Contains(req, "nbd") || !slices.Contains(opt, "virtio_net") {
		t.Errorf("an NBD boot's modules lack nbd or the NIC drivers: %v %v", req, opt)
	}
	c, _ = config.Parse("sandbox.url=http://a/b")
	if req, opt := For(c); slices.Contains(req, "nbd") || !slices.Contains(opt, "nbd") {
		t.Errorf("an HTTP boot needs nbd, or its initramfs cannot boot NBD: %v %v", req, opt)
	}
}

func TestNetModules(t *testing.T) {
	c, err := config.Parse("sandbox.url=http://a/b")
	if err != nil {
		t.Fatal(err)
	}
	if _, opt := For(c); !slices.Contains(opt, "virtio_net") || !slices.Contains(opt, "e1000e") || slices.Contains(opt, "virtio_rng") {
		t.Errorf("an http:// boot's modules lack the NIC drivers or take TLS's RNG: %v", opt)
	}
	if _, opt := For(config.Default()); slices.Contains(opt, "virtio_net") {
		t.Error("a CD boot takes NIC drivers")
	}
	c, _ = config.Parse("sandbox.url=http://a/b,https://m/x.img")
	if _, opt := For(c); !slices.Contains(opt, "virtio_rng") {
		t.Errorf("an https:// mirror's boot lacks the RNG drivers: %v", opt)
	}
}
