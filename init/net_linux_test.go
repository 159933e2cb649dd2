//go:build !nonet

package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestNICsWithoutDriver: a fixture sysfs with a PCI NIC and a virtio NIC
// without drivers, a bound NIC and a disk controller.
func TestNICsWithoutDriver(t *testing.T) {
	sys := t.TempDir()
	dev := func(path string, files map[string]string, driver bool) {
		d := filepath.Join(sys, path)
		os.MkdirAll(d, 0o755)
		for k, v := range files {
			os.WriteFile(filepath.Join(d, k), []byte(v+"\n"), 0o644)
		}
		if driver {
			os.Symlink("/sys/bus/x/drivers/y", filepath.Join(d, "driver"))
		}
	}
	dev("bus/pci/devices/0000:00:03.0", map[string]string{"class": "0x020000", "vendor": "0x8086", "device": "0x10d3"}, false)
	dev("bus/pci/devices/0000:00:04.0", map[string]string{"class": "0x020000", "vendor": "0x8086", "device": "0x100e"}, true)
	dev("bus/pci/devices/0000:00:05.0", map[string]string{"class": "0x010601", "vendor": "0x8086", "device": "0x2922"}, false)
	dev("devices/pci0000:00/0000:00:06.0/virtio0", map[string]string{"device": "0x0001"}, false)
	os.MkdirAll(filepath.Join(sys, "bus/virtio/devices"), 0o755)
	os.Symlink("../../../devices/pci0000:00/0000:00:06.0/virtio0", filepath.Join(sys, "bus/virtio/devices/virtio0"))
	dev("bus/virtio/devices/virtio1", map[string]string{"device": "0x0002"}, false)
	got := nicsWithoutDriver(sys)
	want := []string{"network controller at PCI 0000:00:03.0 (8086:10d3)", "virtio network device virtio0 at PCI 0000:00:06.0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
