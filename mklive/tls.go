package mklive

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/modpolicy"
	"github.com/sandbox-init/sandbox-init/netfetch/tlsclient"
)

// TLSTag is the build tag of an init that fetches https:// URLs: only it
// links crypto/tls (2.1 MB), so a CD's init and an http:// network boot's
// stay small.
const TLSTag = "tls"

// SystemCA is the host's CA bundle (Debian's ca-certificates), what -ca
// system takes.
const SystemCA = "/etc/ssl/certs/ca-certificates.crt"

// NoNetTag is the build tag of an init without the network (links, DHCP,
// HTTP, DHCPv6): 1.5 MB less, for a CD that does not boot from the network.
const NoNetTag = "nonet"

// InitHasTLS tells whether the init binary at path was built with TLSTag
// (its build information says; a binary without any is taken to lack it).
func InitHasTLS(path string) bool { return initTagged(path, TLSTag) }

// initTagged tells whether the Go binary at path was built with tag.
func initTagged(path, tag string) bool {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), tag) {
			return true
		}
	}
	return false
}

// InitTags are the build tags of the init for a build: TLSTag when it
// has a CA bundle, NoNetTag when it does not boot from the network.
func InitTags(network bool, ca string) []string {
	switch {
	case ca != "":
		return []string{TLSTag}
	case !network:
		return []string{NoNetTag}
	}
	return nil
}

// CheckCA refuses a CA bundle the init could not read (a missing file,
// one with no PEM certificate or a certificate that does not parse): a
// build checks it before it builds anything, not when the initramfs is
// packed, after the root image.
func CheckCA(ca string) error {
	_, err := readCA(ca)
	return err
}

// readCA reads the CA bundle ca and checks it as the init will read it.
func readCA(ca string) ([]byte, error) {
	if ca == "" {
		return nil, nil
	}
	b, err := os.ReadFile(ca)
	if err == nil {
		_, err = tlsclient.Parse(b)
	}
	if err != nil {
		hint := "give -ca a PEM file of CA certificates"
		if ca == SystemCA {
			hint = "-ca system is this host's bundle: install ca-certificates, or give -ca FILE"
		}
		return nil, fmt.Errorf("CA bundle: %w (%s)", err, hint)
	}
	return b, nil
}

// checkTLS refuses an https:// sandbox.url without a CA bundle, a CA
// bundle the init could not read, and one with an init that has no TLS:
// each would fail only at boot.
func checkTLS(https bool, ca, init string) error {
	if err := CheckCA(ca); err != nil {
		return err
	}
	if https && ca == "" {
		return fmt.Errorf("sandbox.url is https://: give -ca FILE (a PEM bundle with the CA of the server's certificate) or -ca system (this host's %s)", SystemCA)
	}
	if ca != "" && !InitHasTLS(init) {
		return fmt.Errorf("-ca: the init %s was built without TLS (go build -tags %s): leave -init out and mklive builds one with it", init, TLSTag)
	}
	return nil
}

// checkInit refuses, before anything is built, what the init for cfg
// would refuse only at boot (checkTLS, checkNetwork).
func checkInit(cfg config.Config, ca, init string) error {
	if err := checkTLS(cfg.HTTPS(), ca, init); err != nil {
		return err
	}
	return checkNetwork(cfg.URL, init)
}

// caModules are the modules an initramfs with a CA bundle adds: https://
// (perhaps from sandbox.url=dhcp) needs the random pool, which a VM's
// virtio RNG fills.
func caModules(ca string) []string {
	if ca == "" {
		return nil
	}
	return modpolicy.RNGDrivers
}

// checkNetwork refuses sandbox.url with an init built without the
// network.
func checkNetwork(url, init string) error {
	if url != "" && initTagged(init, NoNetTag) {
		return fmt.Errorf("sandbox.url: the init %s was built without the network (-tags %s): leave -init out and mklive builds one with it", init, NoNetTag)
	}
	return nil
}

// CANote is what a build's log says of its CA bundle: nothing without
// one.
func CANote(ca string) string {
	if ca == "" {
		return ""
	}
	return "; the CA bundle " + ca + " as " + tlsclient.BundlePath + " for https://, sandbox-init with TLS"
}
