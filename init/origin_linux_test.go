package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCDCandidates(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"sda", "sda1", "sr1", "sr0", "hdc", "loop0", "ram0", "zram0", "dm-0", "md0", "vda", "nvme0n1", "nvme0n1p1", "mmcblk0", "mmcblk0boot0", "mmcblk0rpmb"} {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"sda1", "nvme0n1p1"} {
		if err := os.WriteFile(filepath.Join(dir, p, "partition"), []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(cdCandidates(dir), " ")
	if want := "/dev/sr0 /dev/sr1 /dev/hdc /dev/mmcblk0 /dev/nvme0n1 /dev/sda /dev/vda"; got != want {
		t.Errorf("cdCandidates = %q, want %q", got, want)
	}
}

func TestWaitDevice(t *testing.T) {
	ready := make(chan struct{})
	close(ready)
	n := 0
	if err := waitDevice(ready, time.Second, func() (bool, error) { n++; return n == 3, nil }); err != nil || n != 3 {
		t.Errorf("waitDevice = %v after %d looks, want nil after 3", err, n)
	}
	start := time.Now()
	if err := waitDevice(ready, 100*time.Millisecond, func() (bool, error) { return false, nil }); err != errTimeout {
		t.Errorf("waitDevice on a device that never comes = %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("the timeout took %v, want about 100ms", d)
	}
	boom := errors.New("boom")
	if err := waitDevice(ready, time.Second, func() (bool, error) { return false, boom }); err != boom {
		t.Errorf("an error from the check = %v", err)
	}
	// The timeout counts from the drivers' readiness, not from the start.
	notReady := make(chan struct{})
	// (Ready well before the wait's own bound, which also holds for
	// drivers that never get ready: a loaded host wakes goroutines late.)
	go func() { time.Sleep(100 * time.Millisecond); close(notReady) }()
	start = time.Now()
	_ = waitDevice(notReady, 400*time.Millisecond, func() (bool, error) { return false, nil })
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("gave up %v after the start, before the drivers were ready", d)
	}
	// Drivers that are never ready (a probe that hangs) end the wait
	// after d all the same; one done meanwhile gives the others d more.
	for _, tc := range []struct {
		name     string
		progress time.Duration // how long module loads keep ending
		min      time.Duration
	}{{"no progress", 0, 100 * time.Millisecond}, {"loads ending for 300ms", 300 * time.Millisecond, 400 * time.Millisecond}} {
		start := time.Now()
		progress := func() time.Time {
			if time.Since(start) < tc.progress {
				return time.Now()
			}
			return start.Add(tc.progress)
		}
		done := make(chan error, 1)
		go func() {
			done <- waitDrivers(driverWait{ready: make(chan struct{}), progress: progress}, 100*time.Millisecond, func() (bool, error) { return false, nil })
		}()
		select {
		case err := <-done:
			if d := time.Since(start); err != errTimeout || d < tc.min || d > tc.min+2*time.Second {
				t.Errorf("%s, drivers never ready: %v after %v, want a timeout after %v", tc.name, err, d, tc.min)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s, drivers never ready: the wait did not end", tc.name)
		}
	}
}
