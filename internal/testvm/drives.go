package testvm

import "fmt"

// Bus is how a drive is attached to the machine.
type Bus string

// The buses a Live CD or stick is booted from on real PCs and VMs.
const (
	IDE        Bus = "ide"         // PATA/IDE (PIIX), QEMU's -cdrom
	AHCI       Bus = "ahci"        // SATA through an AHCI controller
	VirtioSCSI Bus = "virtio-scsi" // a virtio SCSI adapter
	VirtioBlk  Bus = "virtio-blk"  // a virtio block device (/dev/vda)
	USB2       Bus = "usb2"        // a USB stick on an EHCI controller
	USB3       Bus = "usb3"        // a USB stick on an xHCI controller
	UAS        Bus = "uas"         // a USB Attached SCSI disk on xHCI
	NVMe       Bus = "nvme"        // an NVMe disk
	SD         Bus = "sd"          // an SD card behind a PCI SD host
)

// Drive is a disk or CD image attached on a bus.
type Drive struct {
	File     string
	Bus      Bus
	CD       bool // a CD drive with the image as its disc (IDE, AHCI, virtio-scsi)
	ReadOnly bool // the machine may not write to the image
}

// args returns QEMU's arguments for the drive; n makes its ids unique.
func (d Drive) args(n int) ([]string, error) {
	id := fmt.Sprintf("drive%d", n)
	media := "disk"
	if d.CD {
		media = "cdrom"
	}
	ro := ""
	if d.ReadOnly || d.CD {
		ro = ",readonly=on"
	}
	backend := fmt.Sprintf("if=none,id=%s,file=%s,format=raw,media=%s%s", id, d.File, media, ro)
	dev := func(devs ...string) []string {
		out := []string{"-drive", backend}
		for _, x := range devs {
			out = append(out, "-device", x)
		}
		return out
	}
	if d.CD && d.Bus != IDE && d.Bus != AHCI && d.Bus != VirtioSCSI {
		return nil, fmt.Errorf("a CD drive on %s: QEMU has none", d.Bus)
	}
	switch d.Bus {
	case IDE:
		// A CD takes index 2, where QEMU puts its default (empty) drive.
		index := n
		if d.CD {
			index = 2
		}
		return []string{"-drive", fmt.Sprintf("file=%s,format=raw,if=ide,index=%d,media=%s%s", d.File, index, media, ro)}, nil
	case AHCI:
		kind := "ide-hd"
		if d.CD {
			kind = "ide-cd"
		}
		return dev(fmt.Sprintf("ahci,id=ahci%d", n), fmt.Sprintf("%s,drive=%s,bus=ahci%d.0", kind, id, n)), nil
	case VirtioSCSI:
		kind := "scsi-hd"
		if d.CD {
			kind = "scsi-cd"
		}
		return dev(fmt.Sprintf("virtio-scsi-pci,id=scsi%d", n), fmt.Sprintf("%s,drive=%s,bus=scsi%d.0", kind, id, n)), nil
	case VirtioBlk:
		return dev("virtio-blk-pci,drive=" + id), nil
	case USB2, USB3:
		hc := "usb-ehci"
		if d.Bus == USB3 {
			hc = "qemu-xhci"
		}
		return dev(fmt.Sprintf("%s,id=usb%d", hc, n), fmt.Sprintf("usb-storage,bus=usb%d.0,drive=%s", n, id)), nil
	case UAS:
		return dev(fmt.Sprintf("qemu-xhci,id=usb%d", n), fmt.Sprintf("usb-uas,id=uas%d,bus=usb%d.0", n, n),
			fmt.Sprintf("scsi-hd,bus=uas%d.0,scsi-id=0,lun=0,drive=%s", n, id)), nil
	case NVMe:
		return dev(fmt.Sprintf("nvme,serial=sandbox%d,drive=%s", n, id)), nil
	case SD:
		return dev(fmt.Sprintf("sdhci-pci,id=sdhci%d", n), "sd-card,drive="+id), nil // one SD bus: the card finds it
	}
	return nil, fmt.Errorf("unknown bus %q", d.Bus)
}
