//go:build nonet

package main

import (
	"errors"

	"github.com/sandbox-init/sandbox-init/config"
)

// This file is in the init of a Live CD that does not boot from the
// network (mklive builds it with -tags nonet unless -net, -ca or
// sandbox.url asks for the network): the links, DHCP and the HTTP client
// (net_linux.go, dhcp_linux.go, fetch_linux.go) stay out of it, and so
// does their 1.5 MB.

// netUp refuses sandbox.url typed at the boot prompt of such a CD.
func netUp(s *sandbox) error {
	return &bootError{Phase: "net", Device: s.cfg.URL, Err: errors.New("sandbox.url asks for a network boot, and this initramfs's sandbox-init was built without the network (a CD's)"),
		Hint: "build the initramfs with mklive -net (or with sandbox.url in mklive iso's -append; mklive netboot always has it), or boot from the CD without sandbox.url"}
}

// fetchImage is never reached: netUp fails first.
func fetchImage(s *sandbox) (string, error) { return "", netUp(s) }

// newNBDMedium: sandbox.url=nbd:// needs the network too; netUp says so.
func newNBDMedium(c *config.Config) medium { return newNetMedium(c) }
