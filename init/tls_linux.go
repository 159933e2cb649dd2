//go:build tls && !nonet

package main

import (
	"errors"
	"time"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/netfetch"
	"github.com/sandbox-init/sandbox-init/netfetch/tlsclient"
	"golang.org/x/sys/unix"
)

// This file is in the init that mklive builds for an https:// network
// boot (go build -tags tls, with -ca): crypto/tls makes /init 2.1 MB
// larger, which no CD or http:// boot pays (notls_linux.go).

// tlsFor is the TLS client of sandbox.url's https:// mirrors (nil when it
// has none): the CA bundle mklive -ca put into the initramfs.
func tlsFor(s *sandbox) (netfetch.TLSClient, error) {
	if !s.cfg.HTTPS() {
		return nil, nil
	}
	c, err := tlsclient.Load(tlsclient.BundlePath)
	if err != nil {
		return nil, &bootError{Phase: "net", Device: tlsclient.BundlePath, Err: errors.Join(errors.New("no CA bundle to check https:// servers with"), err),
			Hint: "build the initramfs with mklive -ca FILE (a PEM bundle with the server's CA), or -ca system for this host's bundle"}
	}
	s.log.Printf("net: TLS: the server's certificate must come from %s of %s (mklive -ca)", c.Count(), tlsclient.BundlePath)
	// Before the first connection: a handshake that waited for the pool
	// would meet its connection's deadline.
	awaitRandom(s.log)
	return c.Handshake, nil
}

// awaitRandom waits, before the first handshake, for the kernel's random
// pool that TLS's keys come from, and says so when it is not ready: early
// in a boot of a machine that gives the kernel no random numbers it
// trusts (a VM without RDRAND or virtio-rng), the kernel may take long to
// fill it from timer jitter alone.
func awaitRandom(log *klog.Logger) {
	var b [16]byte
	if _, err := unix.Getrandom(b[:], unix.GRND_NONBLOCK); err != unix.EAGAIN {
		return
	}
	log.Printf("net: TLS waits for the kernel's random pool (not ready yet)")
	t0 := time.Now()
	for {
		if _, err := unix.Getrandom(b[:], 0); err != unix.EINTR {
			break
		}
	}
	took := time.Since(t0).Round(time.Millisecond)
	if took > 2*time.Second {
		log.Warnf("WARNING: net: TLS waited %v for the kernel's random pool: give the machine a hardware RNG the kernel trusts (a CPU with RDRAND; a VM: virtio-rng, QEMU's -device virtio-rng-pci, which mklive's https initramfs has the driver of)", took)
		return
	}
	log.Printf("net: the random pool was ready after %v", took)
}
