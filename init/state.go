package main

// statePath is where the booted system finds what sandbox-init did.
const statePath = "/run/sandbox/state.json"

// state is what sandbox-init did, written as JSON for the booted system.
type state struct {
	Params  map[string]string `json:"params"`             // the configuration, as sandbox.* parameters
	CD      string            `json:"cd,omitempty"`       // the CD device
	CDMount string            `json:"cd_mount,omitempty"` // where it is in the new root
	Loop    string            `json:"loop,omitempty"`     // the loop device over the image
	// Container is the compressed container (squashfs) on the CD that
	// holds the image, and ContainerLoop the loop device over it.
	Container     string `json:"container,omitempty"`
	ContainerLoop string `json:"container_loop,omitempty"`
	Origin        string `json:"origin"` // the snapshot's origin device
	COW           string `json:"cow"`    // the COW device
	COWBytes      uint64 `json:"cow_bytes"`
	Device        string `json:"device"` // /dev/mapper/NAME
	DMMinor       uint32 `json:"dm_minor"`
	Table         string `json:"table"`
	FSType        string `json:"fstype"`
	// RootFreeBytes is the free space in / at boot: with COWBytes, what
	// the sandbox can take (the smaller of the two).
	RootFreeBytes uint64  `json:"root_free_bytes"`
	Watcher       int     `json:"watcher_pid,omitempty"`
	Phases        []phase `json:"phases"`
}

type phase struct {
	Name   string  `json:"name"`
	Millis float64 `json:"ms"`
}
