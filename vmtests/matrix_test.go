package vmtests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// TestMatrix boots the Live CD or stick on every bus a PC or VM offers,
// with each kernel users run: Debian 12's cloud kernel (no AHCI, no USB:
// those buses are tested for their message in TestCloudKernelUSB), Debian
// 12's standard kernel and Debian 13's (modules, ext4 included, compressed
// and under usr/lib/modules). Each boot must give the writable snapshot
// root, take a write, and have the CD or stick under the new root.
func TestMatrix(t *testing.T) {
	type medium struct {
		bus testvm.Bus
		cd  bool   // a CD drive; otherwise the ISO as a whole disk (a stick)
		dev string // where the guest must see it
	}
	all := []medium{
		{testvm.IDE, true, "/dev/sr"},
		{testvm.AHCI, true, "/dev/sr"},
		{testvm.VirtioSCSI, true, "/dev/sr"},
		{testvm.VirtioBlk, false, "/dev/vda"},
		{testvm.USB2, false, "/dev/sda"},
		{testvm.USB3, false, "/dev/sda"},
		{testvm.UAS, false, "/dev/sda"},
	}
	for _, kernel := range testvm.Kernels {
		for _, m := range all {
			if kernel == testvm.Cloud12 && (m.bus == testvm.AHCI || m.bus == testvm.USB2 || m.bus == testvm.USB3 || m.bus == testvm.UAS) {
				continue // the cloud kernel has no such driver: TestCloudKernelUSB
			}
			t.Run(kernel+"/"+string(m.bus), func(t *testing.T) {
				t.Parallel()
				c := bootVM(t, vm{kernel: kernel, append: []string{"sandbox.cd=LABEL=SANDBOXTEST"},
					drives: []testvm.Drive{{File: built.cdISO, Bus: m.bus, CD: m.cd, ReadOnly: true}}})
				if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
					t.Errorf("root = %q", got)
				}
				if got := c.mustGuest(t, "write"); got != "sandbox-write-test" {
					t.Errorf("write = %q", got)
				}
				if got := c.mustGuest(t, "cd"); !strings.HasPrefix(got, m.dev) || !strings.HasSuffix(got, " iso9660 ro") {
					t.Errorf("the medium under /mnt2 = %q, want %s… iso9660 ro", got, m.dev)
				}
				reportInitCost(t, c)
			})
		}
	}
}

// TestNVMeOriginSDCOW: a disk on NVMe as the base and an SD card as the
// COW store, with the standard kernel; the base must not change.
func TestNVMeOriginSDCOW(t *testing.T) {
	t.Parallel()
	disk, before := writableBase(t)
	cow := filepath.Join(t.TempDir(), "cow.img")
	if err := truncate(cow, 64<<20); err != nil {
		t.Fatal(err)
	}
	c := bootVM(t, vm{kernel: testvm.Std12, append: []string{"sandbox.origin=/dev/nvme0n1", "sandbox.cow=/dev/mmcblk0"},
		drives: []testvm.Drive{{File: disk, Bus: testvm.NVMe}, {File: cow, Bus: testvm.SD}}})
	if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
		t.Errorf("root = %q", got)
	}
	if got := c.mustGuest(t, "bigwrite"); got != "4194304" {
		t.Errorf("bigwrite = %q", got)
	}
	if got := c.mustGuest(t, "ro_nvme0n1"); got != "1" {
		t.Errorf("the NVMe base is not read-only in the kernel (ro=%q)", got)
	}
	if got := c.mustGuest(t, "slaves"); !strings.Contains(got, "mmcblk0") || !strings.Contains(got, "nvme0n1") {
		t.Errorf("dm-0's slaves = %q, want nvme0n1 and mmcblk0", got)
	}
	if sha256File(t, disk) != before {
		t.Errorf("the base disk changed")
	}
}

// TestCloudKernelUSB: Debian's cloud kernel has no USB driver at all. A
// Live stick on USB 3 cannot be found, and the message must say why: the
// xHCI controller has no driver, and what to do.
func TestCloudKernelUSB(t *testing.T) {
	t.Parallel()
	expectFailure(t, vm{append: []string{"sandbox.wait=2"}, drives: []testvm.Drive{{File: built.cdISO, Bus: testvm.USB3, ReadOnly: true}}}, "cd",
		"no driver in this initramfs for: USB 3 (xHCI) controller at PCI ",
		"storage drivers at work: ata_piix (IDE controller at PCI 0000:00:01.1)",
		"linux-image-amd64 has USB")
}
