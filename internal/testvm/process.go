package testvm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Process is a machine's QEMU process, as the host sees it.
type Process struct {
	pidfile string // QEMU's -pidfile: there while it runs
}

// PID is the QEMU process's id.
func (p *Process) PID() (int, error) {
	b, err := os.ReadFile(p.pidfile)
	if err != nil {
		return 0, fmt.Errorf("QEMU's pid file: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// PeakRSS is the QEMU process's peak resident set so far (VmHWM), in
// bytes: the guest's pages QEMU has had to back, plus its own memory.
func (p *Process) PeakRSS() (uint64, error) {
	pid, err := p.PID()
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kib, err := strconv.ParseUint(f[1], 10, 64)
			return kib << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
