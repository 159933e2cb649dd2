package main

import (
	"os"
	"path/filepath"
	"strings"
)

// storageHardware lists the machine's storage controllers and devices
// from sysfs: PCI controllers by class, virtio disks, USB mass-storage
// interfaces.
func storageHardware(sys string) []hwDevice {
	var out []hwDevice
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return strings.TrimSpace(string(b))
	}
	driver := func(dev string) string {
		l, err := os.Readlink(filepath.Join(dev, "driver"))
		if err != nil {
			return ""
		}
		return filepath.Base(l)
	}
	pci, _ := filepath.Glob(filepath.Join(sys, "bus/pci/devices/*"))
	for _, d := range pci {
		if what := pciStorageClass(read(filepath.Join(d, "class"))); what != "" {
			out = append(out, hwDevice{What: what, Where: "PCI " + filepath.Base(d), Driver: driver(d)})
		}
	}
	virtio, _ := filepath.Glob(filepath.Join(sys, "bus/virtio/devices/*"))
	for _, d := range virtio {
		if what := virtioStorage[read(filepath.Join(d, "device"))]; what != "" {
			out = append(out, hwDevice{What: what, Where: filepath.Base(d), Driver: driver(d)})
		}
	}
	usb, _ := filepath.Glob(filepath.Join(sys, "bus/usb/devices/*:*"))
	for _, d := range usb {
		if read(filepath.Join(d, "bInterfaceClass")) == "08" {
			out = append(out, hwDevice{What: "USB mass-storage device", Where: "USB " + filepath.Base(d), Driver: driver(d)})
		}
	}
	return out
}
