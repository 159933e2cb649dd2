package testvm

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestProcessPeakRSS(t *testing.T) {
	s := &Process{pidfile: filepath.Join(t.TempDir(), "qemu.pid")}
	if _, err := s.PeakRSS(); err == nil {
		t.Error("PeakRSS without a pid file worked")
	}
	// This process stands in for QEMU.
	if err := os.WriteFile(s.pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, err := s.PID(); err != nil || pid != os.Getpid() {
		t.Errorf("PID = %d, %v", pid, err)
	}
	n, err := s.PeakRSS()
	if err != nil || n < 1<<20 || n%1024 != 0 {
		t.Errorf("PeakRSS = %d, %v", n, err)
	}
}
