package main

// statePath is where the booted system finds what sandbox-init did.
const statePath = "/run/sandbox/state.json"

// state is what sandbox-init did, written as JSON for the booted system.
type state struct {
	Params  map[string]string `json:"params"`             // the configuration, as sandbox.* parameters
	CD      string            `json:"cd,omitempty"`       // the CD device (sandbox.iso: DISK:/path/file.iso)
	CDMount string            `json:"cd_mount,omitempty"` // where it is in the new root
	Loop    string            `json:"loop,omitempty"`     // the loop device over the image
	// Container is the compressed container (squashfs) on the CD that
	// holds the image, and ContainerLoop the loop device over it.
	Container     string `json:"container,omitempty"`
	ContainerLoop string `json:"container_loop,omitempty"`
	// ISODisk is the disk or partition that holds sandbox.iso's ISO file
	// (mounted read-only on /run/sandbox/isodisk), and ISOLoop the loop
	// device over the ISO file, mounted as the CD.
	ISODisk string `json:"iso_disk,omitempty"`
	ISOLoop string `json:"iso_loop,omitempty"`
	// ImageInRAM is the image's copy in RAM (sandbox.toram), and
	// CDReleased tells the CD was let go of after the copy.
	ImageInRAM string `json:"image_in_ram,omitempty"`
	// GrownBase is the image with zeros after it that the root's file
	// system grew into (sandbox.grow), the snapshot's origin then.
	GrownBase  string `json:"grown_base,omitempty"`
	CDReleased bool   `json:"cd_released,omitempty"`
	// Verity is the dm-verity device that checks the image (or its
	// container) block by block (sandbox.verity), between its loop
	// device and the rest.
	Verity *verityState `json:"verity,omitempty"`
	// VerityOff says why the image is not verified although the medium
	// has its hash tree (no sandbox.verity= on the command line).
	VerityOff string `json:"verity_off,omitempty"`
	// Net is a network boot's link, address and server (sandbox.url).
	Net      *netState `json:"net,omitempty"`
	Origin   string    `json:"origin"` // the snapshot's origin device
	COW      string    `json:"cow"`    // the COW device
	COWBytes uint64    `json:"cow_bytes"`
	Device   string    `json:"device"` // /dev/mapper/NAME
	DMMinor  uint32    `json:"dm_minor"`
	Table    string    `json:"table"`
	FSType   string    `json:"fstype"`
	// RootFreeBytes is the free space in / at boot: with COWBytes, what
	// the sandbox can take (the smaller of the two).
	RootFreeBytes uint64 `json:"root_free_bytes"`
	// BootChain is what verified the boot before sandbox-init ran: the
	// firmware's Secure Boot, the kernel's lockdown, a signed unified
	// kernel image and with it the command line.
	BootChain *bootChainState `json:"boot_chain,omitempty"`
	Watcher   int             `json:"watcher_pid,omitempty"`
	Phases    []phase         `json:"phases"`
}

type phase struct {
	Name   string  `json:"name"`
	Millis float64 `json:"ms"`
}

// verityState is what state.json says of the verified image.
type verityState struct {
	RootHash   string `json:"root_hash"`
	HashTree   string `json:"hash_tree"` // the hash tree's file, beside the image
	Device     string `json:"device"`    // /dev/mapper/NAME-verity
	DataBlocks uint64 `json:"data_blocks"`
	BlockSize  uint32 `json:"block_size"`
	OnCorrupt  string `json:"on_corrupt"`
	// Unverified names what lies over the verified image unchecked: a
	// persistent COW store.
	Unverified string `json:"unverified,omitempty"`
}
