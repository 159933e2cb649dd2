package main

import (
	"fmt"
	"sort"
	"strings"
)

// hwDevice is a storage controller or device the machine has, as sysfs
// tells it: what a user needs to know when a CD or disk never appears.
type hwDevice struct {
	What   string // "USB 3 (xHCI) controller"
	Where  string // "PCI 0000:00:04.0"
	Driver string // the driver bound to it, "" for none
}

// pciStorageClasses names the PCI classes (class code, subclass and
// programming interface, as prefixes of sysfs's "class" file) behind which
// a CD, a stick or a disk can sit.
var pciStorageClasses = []struct{ prefix, what string }{
	{"0x0101", "IDE controller"},
	{"0x0106", "SATA (AHCI) controller"},
	{"0x0108", "NVMe controller"},
	{"0x0100", "SCSI controller"},
	{"0x0107", "SAS controller"},
	{"0x0180", "storage controller"},
	{"0x0c0300", "USB 1 (UHCI) controller"},
	{"0x0c0310", "USB 1 (OHCI) controller"},
	{"0x0c0320", "USB 2 (EHCI) controller"},
	{"0x0c0330", "USB 3 (xHCI) controller"},
	{"0x0805", "SD/MMC host controller"},
}

// pciStorageClass names a PCI class, or "" when no disk can sit behind it.
func pciStorageClass(class string) string {
	for _, c := range pciStorageClasses {
		if strings.HasPrefix(class, c.prefix) {
			return c.what
		}
	}
	return ""
}

// virtioStorage names virtio device ids (sysfs "device") that are disks.
var virtioStorage = map[string]string{"0x0002": "virtio block device", "0x0008": "virtio SCSI adapter"}

// hardwareReport sums up devs in two lines: the drivers at work, and the
// devices no driver took. missing is empty when every device has a driver.
func hardwareReport(devs []hwDevice) (working, missing string) {
	var w, m []string
	for _, d := range devs {
		if d.Driver == "" {
			m = append(m, fmt.Sprintf("%s at %s", d.What, d.Where))
		} else {
			w = append(w, fmt.Sprintf("%s (%s at %s)", d.Driver, d.What, d.Where))
		}
	}
	sort.Strings(w)
	sort.Strings(m)
	working = "storage drivers at work: " + strings.Join(w, ", ")
	if len(w) == 0 {
		working = "no storage driver is at work"
	}
	if len(m) > 0 {
		missing = "no driver in this initramfs for: " + strings.Join(m, ", ")
	}
	return working, missing
}

// missingDriverHint tells what to do about devices without a driver.
func missingDriverHint(kernel string) string {
	return "kernel " + kernel + " (or this initramfs) has no driver for the device that holds the Live CD: " +
		"build the initramfs with 'mklive' from a kernel that has it (Debian's linux-image-amd64 has USB, AHCI and NVMe; its cloud kernel has none of them)"
}
