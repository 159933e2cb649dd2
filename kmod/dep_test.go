package kmod

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A slice of the real 6.1 cloud kernel's modules.dep.
const depFixture = `kernel/drivers/scsi/scsi_common.ko:
kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/libata.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/ata_piix.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/cdrom/cdrom.ko:
kernel/drivers/scsi/sr_mod.ko: kernel/drivers/cdrom/cdrom.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/md/dm-mod.ko:
kernel/drivers/md/dm-bufio.ko:
kernel/drivers/md/dm-snapshot.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko
kernel/drivers/block/brd.ko.xz:
`

func parse(t *testing.T) *Deps {
	t.Helper()
	d, err := ParseDep(strings.NewReader(depFixture))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ParseBuiltin(strings.NewReader("kernel/fs/ext4/ext4.ko\nkernel/drivers/block/loop.ko\n")); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{"kernel/drivers/md/dm-mod.ko": "dm_mod", "brd.ko.xz": "brd", "dm-snapshot": "dm_snapshot", "sr_mod": "sr_mod"} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClosureOrder(t *testing.T) {
	d := parse(t)
	got, err := d.Closure("dm-snapshot", "sr_mod", "ata_piix", "loop", "ext4")
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range got {
		if _, dup := pos[m]; dup {
			t.Errorf("%s twice in %v", m, got)
		}
		pos[m] = i
	}
	for _, m := range []string{"loop", "ext4"} {
		if _, ok := pos[m]; ok {
			t.Errorf("built-in %s listed: %v", m, got)
		}
	}
	if len(got) != 9 {
		t.Errorf("closure = %v, want 9 modules", got)
	}
	for mod, needs := range d.Need {
		if _, ok := pos[mod]; !ok {
			continue
		}
		for _, n := range needs {
			if pos[n] > pos[mod] {
				t.Errorf("%s comes before its dependency %s: %v", mod, n, got)
			}
		}
	}
}

func TestMissing(t *testing.T) {
	d := parse(t)
	_, err := d.Closure("sr_mod", "zram")
	var me *MissingError
	if !errors.As(err, &me) || me.Module != "zram" {
		t.Fatalf("Closure with a missing module: %v", err)
	}
	delete(d.Path, "cdrom")
	_, err = d.Closure("sr_mod")
	if err == nil || !strings.Contains(err.Error(), "module cdrom (needed by sr_mod) is not available") {
		t.Errorf("missing dependency: %v", err)
	}
}

func TestWriteDep(t *testing.T) {
	d := parse(t)
	mods, _ := d.Closure("dm_snapshot")
	var b bytes.Buffer
	if err := d.WriteDep(&b, mods); err != nil {
		t.Fatal(err)
	}
	again, err := ParseDep(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Path) != 3 || strings.Join(again.Need["dm_snapshot"], " ") != "dm_bufio dm_mod" {
		t.Errorf("round trip: %+v", again)
	}
}

func TestParseDepErrors(t *testing.T) {
	if _, err := ParseDep(strings.NewReader("no colon here\n")); err == nil {
		t.Error("accepted a line without ':'")
	}
}

func TestAlias(t *testing.T) {
	const fixture = `# Aliases extracted from modules themselves.
alias pci:v00008086d00007010sv*sd*bc*sc*i* ata_piix
alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
alias virtio:d00000008v* virtio_scsi
alias pci:v*d*sv*sd*bc01sc06i01* ahci
alias scsi:t-0x05* sr_mod
alias scsi:t-0x04* sr_mod
`
	as, err := ParseAlias(strings.NewReader(fixture))
	if err != nil {
		t.Fatal(err)
	}
	for modalias, want := range map[string]string{
		"pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80": "ata_piix",
		"pci:v00001AF4d00001004sv00001AF4sd00000008bc01sc00i00": "virtio_pci",
		"pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01": "ahci",
		"virtio:d00000008v00001AF4":                             "virtio_scsi",
		"scsi:t-0x05":                                           "sr_mod",
		"pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00": "",
	} {
		if got := strings.Join(Match(as, modalias), " "); got != want {
			t.Errorf("Match(%s) = %q, want %q", modalias, got, want)
		}
	}
	var b bytes.Buffer
	if err := WriteAlias(&b, as, []string{"sr_mod"}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "alias scsi:t-0x05* sr_mod\nalias scsi:t-0x04* sr_mod\n" {
		t.Errorf("WriteAlias = %q", b.String())
	}
	if _, err := ParseAlias(strings.NewReader("alias onlytwo\n")); err == nil {
		t.Error("a short line was accepted")
	}
}

// A cycle in modules.dep (a hand-edited file, or one of another kernel) is
// an error naming the loop, not a closure that a loader would wait on
// forever; a module needed twice on two paths is no cycle.
func TestClosureCycle(t *testing.T) {
	d, err := ParseDep(strings.NewReader("a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\nd.ko: a.ko\ne.ko: f.ko g.ko\nf.ko: g.ko\ng.ko:\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "d"} {
		_, err := d.Closure(n)
		var ce *CycleError
		if !errors.As(err, &ce) || strings.Join(ce.Loop, " ") != "a b c a" {
			t.Errorf("Closure(%s): %v, want the cycle a b c a", n, err)
		}
	}
	if got, err := d.Closure("e"); err != nil || strings.Join(got, " ") != "g f e" {
		t.Errorf("Closure(e) = %v, %v; want g f e", got, err)
	}
}
