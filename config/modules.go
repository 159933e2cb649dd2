package config

import (
	"slices"
	"strings"
)

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

// RootFSModules are the file systems a root image may hold, as modules:
// mklive builds ext2 or ext4 images, and ext4 mounts both. Debian's cloud
// kernel has ext4 built in, its standard kernel as a module. squashfs
// holds the compressed container (LiveOS/squashfs.img) around the image.
var RootFSModules = []string{"ext4", "squashfs"}

// ISODiskModules are the file systems (and vfat's code pages) of the disks
// that hold ISO files (sandbox.iso): a Live CD whose command line does not
// ask for one goes without them.
var ISODiskModules = []string{"vfat", "nls_cp437", "nls_utf8", "nls_iso8859_1", "exfat"}

// diskDrivers is everything that can bring a disk or a CD.
func diskDrivers() []string {
	var out []string
	for _, l := range [][]string{classDrivers, ataDrivers, virtioDrivers, usbDrivers, flashDrivers} {
		out = append(out, l...)
	}
	return out
}

// Modules names the kernel modules a configuration needs. Required ones must
// be in the initramfs or built in; optional ones are drivers loaded when
// present, so one initramfs serves IDE, SATA, USB, NVMe and virtio machines.
func (c Config) Modules() (required, optional []string) {
	required = []string{"dm_snapshot"}
	if c.Origin == "" {
		required = append(required, "loop", "isofs")
	}
	optional = append(diskDrivers(), RootFSModules...)
	// dm-zero (a few KiB) gives sandbox.grow its zeros: every initramfs
	// carries it, so the parameter can be typed at the boot prompt.
	optional = append(optional, "dm_zero")
	if c.Grow != "no" {
		required = append(required, "dm_zero")
	}
	if c.ISO != "" {
		// The disk that holds the ISO file: a USB stick is vfat or exFAT
		// more often than ext4, and vfat names need code pages.
		optional = append(optional, ISODiskModules...)
	}
	if c.Verity != "" {
		// sha256_ssse3 (SSSE3, AVX2, SHA-NI) hashes several times faster
		// than the built-in generic code on most PCs; the kernel takes
		// the fastest one loaded when the verity target is made.
		required = append(required, "dm_verity")
		optional = append(optional, "sha256_ssse3")
	}
	if c.URL != "" {
		optional = append(optional, NetDrivers...)
		if c.HTTPS() {
			optional = append(optional, RNGDrivers...)
		}
	}
	switch c.COW {
	case "ram0":
		required = append(required, "brd")
	case "zram":
		required = append(required, "zram")
		if m := zramCompressors[c.ZAlgo]; m != "" {
			required = append(required, m)
		}
	}
	return required, optional
}

// zramCompressors maps zram algorithms to the crypto modules that provide
// them on a modular kernel: zram lists an algorithm it knows even when the
// crypto module behind it is not loaded, and then refuses it.
var zramCompressors = map[string]string{"lzo-rle": "lzo-rle", "lzo": "lzo", "lz4": "lz4", "lz4hc": "lz4hc", "zstd": "zstd", "842": "842"}

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

// ModuleParams collects the module.param=value words of a command line,
// joined per module (kmod normalizes - to _ in module names), the way
// modprobe passes them to a module it loads. sandbox.* words are ours.
func ModuleParams(cmdline string) map[string]string {
	out := map[string]string{}
	for _, w := range Fields(cmdline) {
		if w == "--" {
			break
		}
		key, _, _ := strings.Cut(w, "=")
		mod, param, ok := strings.Cut(key, ".")
		if !ok || mod == "" || param == "" || mod == "sandbox" || strings.ContainsAny(mod, "/") {
			continue
		}
		mod = strings.ReplaceAll(mod, "-", "_")
		if out[mod] != "" {
			out[mod] += " "
		}
		out[mod] += w[len(mod)+1:]
	}
	return out
}
