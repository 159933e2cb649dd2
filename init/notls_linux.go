//go:build !tls && !nonet

package main

import (
	"errors"

	"github.com/sandbox-init/sandbox-init/netfetch"
)

// tlsFor refuses https:// mirrors: this init cannot check a server's
// certificate. The init of a CD or an http:// network boot is built
// without crypto/tls, which would make it 2.1 MB larger (tls_linux.go is
// the other one).
func tlsFor(s *sandbox) (netfetch.TLSClient, error) {
	if !s.cfg.HTTPS() {
		return nil, nil
	}
	return nil, &bootError{Phase: "net", Device: s.cfg.URL, Err: errors.New("sandbox.url is https://, and this initramfs's sandbox-init was built without TLS"),
		Hint: "build the initramfs with mklive -ca FILE (or -ca system), which builds sandbox-init with TLS and puts the CA bundle in; or serve http:// with sandbox.verity (every block is checked against the root hash)"}
}
