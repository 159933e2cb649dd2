package vmtests

import (
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// TestToRAM: with sandbox.toram=yes the image is copied into RAM and the
// CD released: the guest ejects it, then reads the base (page cache
// dropped) and writes, all from RAM.
func TestToRAM(t *testing.T) {
	t.Parallel()
	c := bootVM(t, vm{append: []string{"sandbox.toram=yes", "sandbox.cowsize=64M", "guest=eject"},
		qemu: []string{"-m", "1024", "-cdrom", built.cdISO},
		session: func(s *testvm.Session) {
			if err := s.Expect("GUEST eject-now"); err != nil {
				t.Errorf("the guest did not get to the eject: %v", err)
				return
			}
			if err := s.Monitor("eject ide1-cd0"); err != nil {
				t.Errorf("the CD could not be ejected: %v", err)
			}
			s.SendLine("ejected")
		}})
	for key, want := range map[string]string{"media": "gone", "basesame": "yes", "after": "after-eject"} {
		if got := c.mustGuest(t, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if st := c.guestState(t); st.ImageInRAM != "/run/sandbox/toram/initrd-ext2" || !st.CDReleased {
		t.Errorf("state.json: image_in_ram %q, cd_released %v", st.ImageInRAM, st.CDReleased)
	}
	if !c.contains("sandbox-init: toram: /initrd-ext2 copied into RAM") || !c.contains("sandbox-init: toram: /dev/sr0 released") {
		t.Errorf("the copy and the release were not reported")
	}
}

// TestToRAMFallback: a machine whose RAM cannot hold the image, the COW
// store and room for the system: auto says so and runs from the CD; yes
// fails in phase "toram" with the numbers.
func TestToRAMFallback(t *testing.T) {
	t.Parallel()
	c := bootVM(t, vm{append: []string{"sandbox.toram=auto"}, qemu: []string{"-cdrom", built.cdISO}})
	if !c.contains("WARNING: toram: the image (") || !c.contains("running from the medium (sandbox.toram=auto)") {
		t.Errorf("auto did not say why it ran from the medium")
	}
	if got := c.mustGuest(t, "cd"); got != "/dev/sr0 iso9660 ro" {
		t.Errorf("the CD under /mnt2 = %q", got)
	}
	expectFailure(t, vm{append: []string{"sandbox.toram=yes"}, qemu: []string{"-cdrom", built.cdISO}}, "toram",
		"of RAM available", "sandbox.toram=auto")
}
