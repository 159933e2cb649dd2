package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestDriveArgs(t *testing.T) {
	ts, err := findThrottles("dvd, none")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].name != "dvd" || ts[1].name != "none" {
		t.Fatalf("findThrottles: %+v", ts)
	}
	got := ts[0].driveArgs("/x/a.iso")
	want := []string{"-drive", "file=/x/a.iso,format=raw,if=ide,index=2,media=cdrom,readonly=on,throttling.bps-read=22000000,throttling.iops-read=50"}
	if !slices.Equal(got, want) {
		t.Errorf("dvd: %q, want %q", got, want)
	}
	if got := ts[1].driveArgs("/x/a.iso"); strings.Contains(strings.Join(got, " "), "throttling") {
		t.Errorf("none throttles: %q", got)
	}
	for _, bad := range []string{"floppy", "", "dvd,tape"} {
		if _, err := findThrottles(bad); err == nil {
			t.Errorf("findThrottles(%q) accepted", bad)
		}
	}
}

func TestParseSystemBoot(t *testing.T) {
	console := `[    1.700000] Run /init as init process
[    5.000000] systemd[1]: systemd 252.39-1~deb12u1 running in system mode (+PAM)
[    5.100000] systemd[1]: Running in initrd.
[    9.000000] EXT4-fs (dm-0): mounted filesystem with ordered data mode. Quota mode: none.
[    9.500000] systemd[1]: systemd 252.39-1~deb12u1 running in system mode (+PAM)
[  OK  ] Reached target multi-user.target
[   20.250000] sysbench: multi-user.target reached

SYSBENCH mem=MemTotal:1000000 MemFree:600000 MemAvailable:795200 Shmem:1000 
SYSBENCH root=/dev/mapper/live-rw ext4
SYSBENCH failed=
SYSBENCH done
`
	r, err := parseSystemBoot(console)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(r.runInit, 1.7) || !near(r.realInit, 9.5) || !near(r.up, 20.25) || !near(r.stage, 7.8) {
		t.Errorf("stamps: %+v", r)
	}
	if !near(r.mounted, 9) {
		t.Errorf("root mounted at %v, want 9", r.mounted)
	}
	if !near(r.usedMiB, 200) || r.root != "/dev/mapper/live-rw ext4" {
		t.Errorf("reports: %+v", r)
	}
	if _, err := parseSystemBoot(strings.Replace(console, "SYSBENCH done", "", 1)); err == nil {
		t.Error("a boot without the marker's end passed")
	}
	if _, err := parseSystemBoot(strings.Replace(console, "Run /init", "Run /sbin/init", 1)); err == nil {
		t.Error("a boot without Run /init passed")
	}
}

func TestSystemRatios(t *testing.T) {
	mk := func(name string, up ...float64) *sysVariant {
		v := &sysVariant{name: name, iso: &sysISO{}, samples: map[string]map[string][]float64{}}
		for _, x := range up {
			v.add("dvd", "up", x)
		}
		return v
	}
	vs := []*sysVariant{mk("ours", 10, 12, 11), mk("dracut", 40, 44, 42)}
	vs[0].iso.isoBytes = 105
	got := systemRatios(vs, []throttle{{name: "dvd"}}, squashRef{bytes: 100})
	want := []string{"ratio system-boot ours/dracut=0.26", "ratio iso ours/mksquashfs=1.050"}
	if !slices.Equal(got, want) {
		t.Errorf("systemRatios: %q, want %q", got, want)
	}
}
