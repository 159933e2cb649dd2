package vmtests

import (
	"strings"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	"github.com/hugelgupf/vmtest/qemu"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// TestRescueShell: with a shell in the initramfs and sandbox.onfail=shell, a
// failed boot opens a shell on the console; exiting it powers off.
func TestRescueShell(t *testing.T) {
	t.Parallel()
	rep := initramfsWith(t, func(s *mklive.InitramfsSpec) { s.Shell = mklive.BusyboxBinary })
	var out syncBuffer
	m := qemu.StartT(t, t.Name(), qemu.ArchAMD64,
		qemu.WithQEMUCommand("qemu-system-x86_64 -m 512 -no-reboot -smp 1"),
		qemu.WithVMTimeout(90*time.Second),
		qemu.WithSerialOutput(&out),
		qemu.WithKernel(built.kernel.Vmlinuz()),
		qemu.WithInitramfs(rep.Path),
		qemu.WithAppendKernel("console=ttyS0", "loglevel=7", "panic=-1", "sandbox.chunk=3", "sandbox.onfail=shell"),
	)
	if _, err := m.Console.Expect(expect.String("(sandbox-init rescue) # "), expect.WithTimeout(60*time.Second)); err != nil {
		t.Errorf("no rescue shell prompt: %v", err)
	} else {
		m.Console.SendLine("echo RESCUE-$((6*7)); exit")
		if _, err := m.Console.Expect(expect.String("RESCUE-42"), expect.WithTimeout(30*time.Second)); err != nil {
			t.Errorf("the shell did not run a command: %v", err)
		}
	}
	_ = m.Wait()
	c := out.String()
	for _, want := range []string{`FAILED in phase "config"`, "action: shell (exit the shell to power off)", "action: poweroff", "reboot: Power down"} {
		if !strings.Contains(c, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}
