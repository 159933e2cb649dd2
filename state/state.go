package state

import "os"

// The files, in the booted system as in the initramfs.
const (
	Path      = "/run/sandbox/state.json"
	UsagePath = "/run/sandbox/usage.json"
)

// State is state.json: what sandbox-init did.
type State struct {
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
	Verity *Verity `json:"verity,omitempty"`
	// VerityOff says why the image is not verified although the medium
	// has its hash tree (no sandbox.verity= on the command line).
	VerityOff string `json:"verity_off,omitempty"`
	// Net is a network boot's link, address and server (sandbox.url).
	Net *Net `json:"net,omitempty"`
	// NBD is the export the image is read from on demand
	// (sandbox.url=nbd://…), and its device.
	NBD      *NBD   `json:"nbd,omitempty"`
	Origin   string `json:"origin"` // the snapshot's origin device
	COW      string `json:"cow"`    // the COW device
	COWBytes uint64 `json:"cow_bytes"`
	Device   string `json:"device"` // /dev/mapper/NAME
	DMMinor  uint32 `json:"dm_minor"`
	Table    string `json:"table"`
	FSType   string `json:"fstype"`
	// RootFreeBytes is the free space in / at boot: with COWBytes, what
	// the sandbox can take (the smaller of the two).
	RootFreeBytes uint64 `json:"root_free_bytes"`
	// BootChain is what verified the boot before sandbox-init ran: the
	// firmware's Secure Boot, the kernel's lockdown, a signed unified
	// kernel image and with it the command line.
	BootChain *BootChain `json:"boot_chain,omitempty"`
	Watcher   int        `json:"watcher_pid,omitempty"`
	Phases    []Phase    `json:"phases"`
}

// Phase is one boot step and its wall time.
type Phase struct {
	Name   string  `json:"name"`
	Millis float64 `json:"ms"`
}

// Verity is what state.json says of the verified image.
type Verity struct {
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

// Net is what state.json says of a network boot: the link that got the
// address, the address (it stays on the link after switch_root: the booted
// system's network manager takes the link over), and the mirror that
// served the image.
type Net struct {
	Iface   string `json:"iface"`
	MAC     string `json:"mac"`
	Address string `json:"address"`           // CIDR
	Gateway string `json:"gateway,omitempty"` // the default route's
	Server  string `json:"dhcp_server,omitempty"`
	URL     string `json:"url,omitempty"` // the mirror that served the image
}

// NBD is what state.json says of an NBD boot: the export, the server's
// address as dialled (the watcher reconnects to it), the device, and how
// long reads wait for the server when the connection is lost.
type NBD struct {
	URL      string `json:"url"`
	Server   string `json:"server"` // ADDRESS:PORT, resolved at boot
	Export   string `json:"export"`
	Device   string `json:"device"` // /dev/nbdN
	Size     uint64 `json:"size_bytes"`
	DeadConn int    `json:"dead_conn_s"` // seconds I/O waits for a reconnect
}

// BootChain is what state.json says of what verified this boot before
// sandbox-init ran: the firmware's Secure Boot state (its SecureBoot and
// SetupMode variables), the kernel's lockdown, and systemd's UEFI stub,
// which says it ran (StubInfo) when the kernel came from a unified kernel
// image.
type BootChain struct {
	UEFI       bool   `json:"uefi"`
	SecureBoot string `json:"secure_boot"`        // on, off, setup mode, or why it is unknown
	Lockdown   string `json:"lockdown,omitempty"` // none, integrity or confidentiality
	Stub       string `json:"stub,omitempty"`     // StubInfo: "systemd-stub 252.39-1~deb12u2"
	// CmdlineSigned: the command line (sandbox.verity's root hash with
	// it) is the signed image's own: Secure Boot on and systemd's stub
	// ran, which then ignores any command line the boot menu passes.
	CmdlineSigned bool `json:"cmdline_signed"`
}

// Usage is usage.json: the COW store's use, as the watcher last saw it.
type Usage struct {
	UsedSectors     uint64  `json:"used_sectors"`
	TotalSectors    uint64  `json:"total_sectors"`
	MetadataSectors uint64  `json:"metadata_sectors"`
	Percent         float64 `json:"percent"`
	Invalid         bool    `json:"invalid"` // an N store filled, or a read of the base failed: the snapshot is dead
	// InvalidCause is why, from the kernel's log: the failed reads of the
	// base ("I/O error, dev loop2, sector 16384"), or the full store.
	InvalidCause string  `json:"invalid_cause,omitempty"`
	Overflow     bool    `json:"overflow"` // a PO store filled: new writes fail, reads work
	Uptime       float64 `json:"uptime_s"`
	// VerityCorrupted says dm-verity found a corrupted block of the image
	// (sandbox.verity), VerityBlocks which ones (from the kernel's log).
	VerityCorrupted bool     `json:"verity_corrupted,omitempty"`
	VerityBlocks    []string `json:"verity_blocks,omitempty"`
}

// Read reads state.json at Path.
func Read() (State, error) { return readFile(Path, Parse) }

// ReadUsage reads usage.json at UsagePath.
func ReadUsage() (Usage, error) { return readFile(UsagePath, ParseUsage) }

func readFile[T any](path string, parse func([]byte) (T, error)) (T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(b)
}
