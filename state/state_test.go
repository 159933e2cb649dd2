package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// full has every field set, so that every JSON name shows.
var full = State{
	Params: map[string]string{"sandbox.name": "sandbox"}, CD: "/dev/sr0", CDMount: "/mnt2", Loop: "/dev/loop1",
	Container: "/LiveOS/squashfs.img", ContainerLoop: "/dev/loop0", ISODisk: "/dev/sda1", ISOLoop: "/dev/loop2",
	ImageInRAM: "/run/sandbox/toram/squashfs.img", GrownBase: "/dev/mapper/sandbox-base", CDReleased: true,
	Verity: &Verity{RootHash: "ab", HashTree: "/x.verity", Device: "/dev/mapper/sandbox-verity", DataBlocks: 3, BlockSize: 4096,
		OnCorrupt: "eio", Unverified: "the persistent COW store /dev/sda"},
	VerityOff: "why", Net: &Net{Iface: "eth0", MAC: "52:54:00:12:34:56", Address: "10.0.2.15/24", Gateway: "10.0.2.2", Server: "10.0.2.2", URL: "http://x/"},
	NBD:    &NBD{URL: "nbd://x/y", Server: "10.0.2.100:10809", Export: "y", Device: "/dev/nbd0", Size: 4096, DeadConn: 120},
	Origin: "/dev/loop1", COW: "/dev/ram0", COWBytes: 1 << 30, Device: "/dev/mapper/sandbox", DMMinor: 1,
	Table: "0 100 snapshot 7:1 1:0 N 8", FSType: "ext4", RootFreeBytes: 5,
	BootChain: &BootChain{UEFI: true, SecureBoot: "on", Lockdown: "integrity", Stub: "systemd-stub 252", CmdlineSigned: true},
	Watcher:   42, Phases: []Phase{{Name: "cd", Millis: 1.5}},
}

var fullUsage = Usage{UsedSectors: 1, TotalSectors: 2, MetadataSectors: 3, Percent: 50, Invalid: true, InvalidCause: "c",
	Overflow: true, Uptime: 4.5, VerityCorrupted: true, VerityBlocks: []string{"data block 12"}}

// The documented names: changing one breaks every reader of the files.
var (
	stateNames = []string{"params", "cd", "cd_mount", "loop", "container", "container_loop", "iso_disk", "iso_loop",
		"image_in_ram", "grown_base", "cd_released", "verity", "verity_off", "net", "nbd", "origin", "cow", "cow_bytes",
		"device", "dm_minor", "table", "fstype", "root_free_bytes", "boot_chain", "watcher_pid", "phases"}
	verityNames = []string{"root_hash", "hash_tree", "device", "data_blocks", "block_size", "on_corrupt", "unverified"}
	netNames    = []string{"iface", "mac", "address", "gateway", "dhcp_server", "url"}
	nbdNames    = []string{"url", "server", "export", "device", "size_bytes", "dead_conn_s"}
	chainNames  = []string{"uefi", "secure_boot", "lockdown", "stub", "cmdline_signed"}
	phaseNames  = []string{"name", "ms"}
	usageNames  = []string{"used_sectors", "total_sectors", "metadata_sectors", "percent", "invalid", "invalid_cause",
		"overflow", "uptime_s", "verity_corrupted", "verity_blocks"}
	// What an empty State still has (the rest is omitted when it does not apply).
	alwaysNames = []string{"params", "origin", "cow", "cow_bytes", "device", "dm_minor", "table", "fstype", "root_free_bytes", "phases"}
	alwaysUsage = []string{"used_sectors", "total_sectors", "metadata_sectors", "percent", "invalid", "overflow", "uptime_s"}
)

func keys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want []string
	}{
		{"State", full, stateNames}, {"Verity", full.Verity, verityNames}, {"Net", full.Net, netNames}, {"NBD", full.NBD, nbdNames},
		{"BootChain", full.BootChain, chainNames}, {"Phase", full.Phases[0], phaseNames}, {"Usage", fullUsage, usageNames},
		{"empty State", State{}, alwaysNames}, {"empty Usage", Usage{}, alwaysUsage},
	} {
		if got := keys(t, tc.v); !reflect.DeepEqual(got, sorted(tc.want)) {
			t.Errorf("%s's JSON names are %q, documented %q", tc.name, got, sorted(tc.want))
		}
	}
}

// TestDocumented: the package doc names every field of both files.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, names := range [][]string{stateNames, verityNames, netNames, nbdNames, chainNames, phaseNames, usageNames} {
		for _, n := range names {
			if !strings.Contains(string(doc), n) {
				t.Errorf("doc.go does not document %q", n)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	b, _ := json.MarshalIndent(full, "", "  ")
	p := filepath.Join(dir, "state.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readFile(p, Parse)
	if err != nil || !reflect.DeepEqual(got, full) {
		t.Errorf("state.json read back as %+v (%v), want %+v", got, err, full)
	}
	b, _ = json.Marshal(fullUsage)
	u, err := ParseUsage(b)
	if err != nil || !reflect.DeepEqual(u, fullUsage) {
		t.Errorf("usage.json read back as %+v (%v), want %+v", u, err, fullUsage)
	}
	if _, err := Parse([]byte(`{"cow_bytes":"big"}`)); err == nil {
		t.Error("a cow_bytes that is not a number was accepted")
	}
	if _, err := readFile(filepath.Join(dir, "none"), Parse); err == nil {
		t.Error("a missing file read without an error")
	}
}
