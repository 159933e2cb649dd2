package testvm

import (
	"strings"
	"testing"
)

func TestDriveArgs(t *testing.T) {
	for _, tc := range []struct {
		d    Drive
		want string
	}{
		{Drive{File: "cd.iso", Bus: IDE, CD: true}, "-drive file=cd.iso,format=raw,if=ide,index=2,media=cdrom,readonly=on"},
		{Drive{File: "d.img", Bus: IDE}, "-drive file=d.img,format=raw,if=ide,index=0,media=disk"},
		{Drive{File: "cd.iso", Bus: AHCI, CD: true}, "-device ahci,id=ahci0 -device ide-cd,drive=drive0,bus=ahci0.0"},
		{Drive{File: "cd.iso", Bus: VirtioSCSI, CD: true}, "-device virtio-scsi-pci,id=scsi0 -device scsi-cd,drive=drive0,bus=scsi0.0"},
		{Drive{File: "s.img", Bus: VirtioBlk, ReadOnly: true}, "media=disk,readonly=on -device virtio-blk-pci,drive=drive0"},
		{Drive{File: "s.img", Bus: USB2}, "-device usb-ehci,id=usb0 -device usb-storage,bus=usb0.0,drive=drive0"},
		{Drive{File: "s.img", Bus: USB3}, "-device qemu-xhci,id=usb0 -device usb-storage,bus=usb0.0,drive=drive0"},
		{Drive{File: "s.img", Bus: UAS}, "-device usb-uas,id=uas0,bus=usb0.0 -device scsi-hd,bus=uas0.0,scsi-id=0,lun=0,drive=drive0"},
		{Drive{File: "n.img", Bus: NVMe}, "-device nvme,serial=sandbox0,drive=drive0"},
		{Drive{File: "c.img", Bus: SD}, "-device sdhci-pci,id=sdhci0 -device sd-card,drive=drive0"},
	} {
		a, err := tc.d.args(0)
		if err != nil {
			t.Errorf("%+v: %v", tc.d, err)
			continue
		}
		if got := strings.Join(a, " "); !strings.Contains(got, tc.want) {
			t.Errorf("%+v: args %q lack %q", tc.d, got, tc.want)
		}
	}
	for _, d := range []Drive{{File: "x", Bus: NVMe, CD: true}, {File: "x", Bus: "floppy"}} {
		if _, err := d.args(0); err == nil {
			t.Errorf("%+v accepted", d)
		}
	}
}
