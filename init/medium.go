package main

import "github.com/sandbox-init/sandbox-init/config"

// A medium is where the root image comes from: a CD, an ISO file on a
// disk, a block device, the network. Each is a source of the same thing,
// a read-only device holding the root image, reached in three parts the
// step table runs in order; a part is a list of named, timed steps (the
// phases a failure is reported in and state.json lists), empty when a kind
// has nothing to do there. A kind sets its own facts in state.json as its
// steps find them (cd, iso_disk, origin, net, image_in_ram…).
type medium interface {
	// find finds and mounts the medium, or fetches the image from it.
	find() []step
	// attach makes the snapshot's origin: the image file loop-attached
	// read-only (and verified), or nothing when the medium is the origin.
	attach() []step
	// release lets go of the medium once the origin no longer reads it
	// (a CD after toram).
	release() []step
	// origin is the read-only device the snapshot starts from, once the
	// steps of find and attach ran.
	origin() string
}

// mediumKind is one row of media (main.go): a kind of medium, the configuration
// that asks for it, and how it is made for a boot.
type mediumKind struct {
	name string                          // the kind's first step's name
	uses func(cfg *config.Config) bool   // the configuration asks for this kind
	make func(cfg *config.Config) medium // the medium of a boot with cfg
}
