package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/kmod"
)

// chainLoader is a loader of the IDE CD's chain (no such modules are in
// the test machine's /sys/module) whose every load takes step, and
// never ends for a module in hang.
func chainLoader(t *testing.T, step time.Duration, hang string) (*modules, *sync.Map) {
	t.Helper()
	d, err := kmod.ParseDep(strings.NewReader("kernel/scsi_common.ko:\nkernel/scsi_mod.ko: kernel/scsi_common.ko\n" +
		"kernel/libata.ko: kernel/scsi_mod.ko kernel/scsi_common.ko\nkernel/ata_piix.ko: kernel/libata.ko kernel/scsi_mod.ko kernel/scsi_common.ko\n" +
		"kernel/dm_mod.ko:\n"))
	if err != nil {
		t.Fatal(err)
	}
	var done sync.Map
	l := &kmod.Loader{Dir: "/nonexistent", Deps: d, Params: map[string]string{}}
	l.Insert = func(file, _ string) error {
		name := kmod.Name(file)
		if name == hang {
			select {} // a load that never ends
		}
		time.Sleep(step)
		done.Store(name, time.Now())
		return nil
	}
	return &modules{l: l, first: []string{"ata_piix"}}, &done
}

// awaitChain returns once the boot device's chain has loaded, not before,
// and not for a module outside it.
func TestAwaitChain(t *testing.T) {
	m, done := chainLoader(t, 20*time.Millisecond, "dm_mod")
	m.l.Start("dm_mod") // loads for ever: not in the chain, not waited for
	if err := m.l.Start(m.first...); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m.awaitChain(5 * time.Second)
	took := time.Since(start)
	for _, n := range []string{"scsi_common", "scsi_mod", "libata", "ata_piix"} {
		if _, ok := done.Load(n); !ok {
			t.Errorf("awaitChain returned after %v with %s not loaded", took, n)
		}
	}
	if took > 2*time.Second {
		t.Errorf("awaitChain took %v: it waited for dm_mod, which is not in the chain", took)
	}
}

// A chain module whose load never ends holds the boot the bound, no longer.
func TestAwaitChainBound(t *testing.T) {
	m, _ := chainLoader(t, time.Millisecond, "libata")
	if err := m.l.Start(m.first...); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m.awaitChain(150 * time.Millisecond)
	if took := time.Since(start); took < 150*time.Millisecond || took > 2*time.Second {
		t.Errorf("awaitChain with a hanging libata took %v, want the bound, 150ms", took)
	}
}
