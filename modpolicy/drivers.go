package modpolicy

import "slices"

// Drivers for every way a Live CD or stick reaches a PC or a VM. They are
// optional: an initramfs takes those its kernel has, and the init loads the
// ones this machine's devices ask for (by modalias), so one initramfs serves
// every bus.
var (
	// ataDrivers: PATA/IDE (QEMU's -cdrom) and SATA (AHCI) controllers.
	ataDrivers = []string{"ata_piix", "ahci"}
	// virtioDrivers: virtio-scsi and virtio-blk behind virtio's PCI transport.
	virtioDrivers = []string{"virtio_pci", "virtio_scsi", "virtio_blk"}
	// usbDrivers: USB 1/2/3 host controllers and USB mass storage (the
	// Bulk-Only Transport and UAS), plus a USB keyboard for the rescue shell.
	usbDrivers = []string{"xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd", "usb_storage", "uas", "usbhid", "hid_generic"}
	// flashDrivers: NVMe, and SD/MMC cards behind a PCI SD host controller.
	flashDrivers = []string{"nvme", "sdhci_pci", "mmc_block"}
	// classDrivers bind to what the host adapters find: SCSI CDs and disks
	// (ATA, USB and virtio-scsi devices all show up as SCSI).
	classDrivers = []string{"sr_mod", "sd_mod"}
)

// companions are optional modules of use only beside another: hid_generic
// drives a keyboard that a HID transport (usbhid) found, and without one
// (Debian's cloud kernel has no USB) it and the hid core it needs are 0.3 MB
// of modules that can bind nothing.
var companions = map[string]string{"hid_generic": "usbhid"}

// Companion is the module m is of use only beside, if any: an initramfs
// takes m only when its kernel has that one too.
func Companion(m string) (string, bool) {
	c, ok := companions[m]
	return c, ok
}

// NetDrivers are the Ethernet drivers a network boot's initramfs carries:
// QEMU's and the clouds' virtual NICs, then the PC and server NICs met
// most. Each is taken when the kernel has it (the cloud kernel has only
// virtio_net and ena), and loaded only when a device's modalias asks.
var NetDrivers = []string{"virtio_net", "e1000", "e1000e", "igb", "igc", "ixgbe", "r8169", "tg3", "bnxt_en", "ena"}

// diskDrivers is everything that can bring a disk or a CD.
func diskDrivers() []string {
	var out []string
	for _, l := range [][]string{classDrivers, ataDrivers, virtioDrivers, usbDrivers, flashDrivers} {
		out = append(out, l...)
	}
	return out
}

// IsClassDriver tells the drivers that bind to devices other drivers find
// (sr_mod, sd_mod): the init loads them whenever they are present, not by
// alias.
func IsClassDriver(m string) bool { return slices.Contains(classDrivers, m) }

// Followers are drivers for the devices that appear behind a host
// controller once its driver runs (USB devices after enumeration, SD cards
// after the host's probe): no modalias exists for them when the boot
// starts, so the init loads them as soon as the controller's driver is
// started, and waits for them like the host's own.
func Followers(driver string) []string {
	switch driver {
	case "xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd":
		return []string{"usb_storage", "uas", "usbhid", "hid_generic"}
	case "sdhci_pci":
		return []string{"mmc_block"}
	}
	return nil
}

// RNGDrivers feed the kernel's random pool from a hardware RNG: TLS needs
// random numbers, and on a machine whose CPU the kernel does not take
// them from (a VM without RDRAND) the pool may take minutes to fill
// without one. virtio_rng is a VM's (QEMU's -device virtio-rng-pci).
var RNGDrivers = []string{"virtio_rng"}
