package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHardwareReport(t *testing.T) {
	w, m := hardwareReport([]hwDevice{
		{What: "IDE controller", Where: "PCI 0000:00:01.1", Driver: "ata_piix"},
		{What: "USB 3 (xHCI) controller", Where: "PCI 0000:00:04.0"},
	})
	if w != "storage drivers at work: ata_piix (IDE controller at PCI 0000:00:01.1)" {
		t.Errorf("working = %q", w)
	}
	if m != "no driver in this initramfs for: USB 3 (xHCI) controller at PCI 0000:00:04.0" {
		t.Errorf("missing = %q", m)
	}
	if w, m := hardwareReport(nil); w != "no storage driver is at work" || m != "" {
		t.Errorf("no hardware: %q, %q", w, m)
	}
}

func TestPCIStorageClass(t *testing.T) {
	for class, want := range map[string]string{
		"0x0c0330": "USB 3 (xHCI) controller", "0x0c0320": "USB 2 (EHCI) controller", "0x010601": "SATA (AHCI) controller",
		"0x010802": "NVMe controller", "0x010180": "IDE controller", "0x030000": "", "0x0c0500": "", "0x080501": "SD/MMC host controller",
	} {
		if got := pciStorageClass(class); got != want {
			t.Errorf("pciStorageClass(%s) = %q, want %q", class, got, want)
		}
	}
}

// A fixture sysfs: an IDE controller with its driver, an xHCI controller
// without one, a virtio disk and a USB stick interface without a driver,
// and a VGA card that is no storage at all.
func TestStorageHardware(t *testing.T) {
	sys := t.TempDir()
	dev := func(path, file, content, driver string) {
		d := filepath.Join(sys, path)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, file), []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if driver != "" {
			if err := os.Symlink("../../../bus/pci/drivers/"+driver, filepath.Join(d, "driver")); err != nil {
				t.Fatal(err)
			}
		}
	}
	dev("bus/pci/devices/0000:00:01.1", "class", "0x010180", "ata_piix")
	dev("bus/pci/devices/0000:00:04.0", "class", "0x0c0330", "")
	dev("bus/pci/devices/0000:00:02.0", "class", "0x030000", "")
	dev("bus/virtio/devices/virtio0", "device", "0x0002", "virtio_blk")
	dev("bus/usb/devices/2-1:1.0", "bInterfaceClass", "08", "")
	w, m := hardwareReport(storageHardware(sys))
	for _, want := range []string{"ata_piix (IDE controller at PCI 0000:00:01.1)", "virtio_blk (virtio block device at virtio0)"} {
		if !strings.Contains(w, want) {
			t.Errorf("working %q lacks %q", w, want)
		}
	}
	for _, want := range []string{"USB 3 (xHCI) controller at PCI 0000:00:04.0", "USB mass-storage device at USB 2-1:1.0"} {
		if !strings.Contains(m, want) {
			t.Errorf("missing %q lacks %q", m, want)
		}
	}
	if strings.Contains(w+m, "0000:00:02.0") {
		t.Errorf("the VGA card is reported: %q %q", w, m)
	}
}
