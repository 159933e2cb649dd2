// Package tlsclient is netfetch's TLS: the server's certificate checked
// against a CA bundle (the one mklive -ca puts into the initramfs) with
// the URL's host name (SNI, and the certificate's names), and a failure
// explained in the terms a user can act on: the clock and the time when
// the certificate is not valid at the machine's time, the issuer when no
// CA of the bundle signed it, the names when the host is not among them.
//
// It is a package of its own because crypto/tls makes a static program
// about 2.1 MB larger: only an init built for https:// imports it.
package tlsclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/netfetch"
)

// BundlePath is where mklive -ca puts the CA bundle in the initramfs
// (Debian's path of the system's bundle, so that the rescue shell's tools
// find it too).
const BundlePath = "/etc/ssl/certs/ca-certificates.crt"

// Client checks servers against a CA bundle.
type Client struct {
	Roots  *x509.CertPool
	Bundle string // the bundle's path, for messages
	CAs    int    // how many certificates it holds
	// Now is the clock certificates are checked at: default time.Now.
	Now func() time.Time
}

// Load reads a PEM bundle of CA certificates.
func Load(path string) (*Client, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Bundle = path
	return c, nil
}

// Parse reads a PEM bundle's certificates; it fails when one does not
// parse or there is none.
func Parse(b []byte) (*Client, error) {
	c := &Client{Roots: x509.NewCertPool()}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", c.CAs+1, err)
		}
		c.Roots.AddCert(cert)
		c.CAs++
	}
	if c.CAs == 0 {
		return nil, errors.New("no PEM certificate in it")
	}
	return c, nil
}

// Handshake is a netfetch.TLSClient: TLS 1.2 or 1.3 with serverName, the
// server's certificate chain checked against the bundle at the clock's
// time. A certificate that does not verify, or a server that does not
// speak TLS, is a *netfetch.TrustError that says why and the fix.
func (c *Client) Handshake(ctx context.Context, conn net.Conn, serverName string) (net.Conn, error) {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	tc := tls.Client(conn, &tls.Config{RootCAs: c.Roots, ServerName: serverName, Time: now, MinVersion: tls.VersionTLS12})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, c.explain(err, serverName, now())
	}
	return tc, nil
}

// explain turns a handshake's failure into what the user reads; a
// failure that is not about trust (the network's) is returned as it is.
func (c *Client) explain(err error, host string, now time.Time) error {
	var inv x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return clockError(inv.Cert, host, now)
	case errors.As(err, &ua) && ua.Cert != nil:
		return &netfetch.TrustError{Err: fmt.Errorf("TLS: the certificate of %s (%s) was issued by %q, which is not %s of %s",
			host, ua.Cert.Subject, ua.Cert.Issuer.String(), c.Count(), c.bundle()),
			Hint: "build the initramfs with mklive -ca FILE where FILE holds the CA that signed the server's certificate (and have the server send its intermediate certificates), or give the server a certificate from a CA of the bundle"}
	case errors.As(err, &he) && he.Certificate != nil:
		return &netfetch.TrustError{Err: fmt.Errorf("TLS: the certificate the server sent is for %s, not %s", certNames(he.Certificate), host),
			Hint: "use a host name of the certificate in sandbox.url=, or give the server a certificate for " + host}
	case errors.As(err, &rh):
		return &netfetch.TrustError{Err: fmt.Errorf("TLS: the server at %s does not speak TLS on that port", host),
			Hint: "is it an http:// server? Give the https:// server's port, or use http:// with sandbox.verity"}
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		return &netfetch.TrustError{Err: fmt.Errorf("TLS: the certificate of %s does not verify: %w", host, err),
			Hint: "give the server a certificate a CA of the bundle (mklive -ca) signed, for the name in sandbox.url="}
	}
	return fmt.Errorf("TLS handshake: %w", err)
}

// clockError is a certificate that is not valid at the machine's time:
// before its start the clock is almost surely wrong (a flat RTC battery
// says 2000 or 1970); after its end the certificate may have expired.
func clockError(cert *x509.Certificate, host string, now time.Time) error {
	const day = "2006-01-02 15:04:05 UTC"
	valid := fmt.Sprintf("the certificate of %s (%s) is valid from %s to %s", host, cert.Subject, cert.NotBefore.UTC().Format(day), cert.NotAfter.UTC().Format(day))
	if now.Before(cert.NotBefore) {
		return &netfetch.TrustError{Err: fmt.Errorf("TLS: the clock says %s; %s: this machine's clock is wrong", now.UTC().Format(day), valid),
			Hint: "set the clock (the RTC: in the firmware's setup, or hwclock --systohc from a system with the right time; a flat CMOS battery resets it), or serve the image over http:// with sandbox.verity, which needs no clock"}
	}
	return &netfetch.TrustError{Err: fmt.Errorf("TLS: the clock says %s; %s: it has expired, or this machine's clock is ahead", now.UTC().Format(day), valid),
		Hint: "renew the server's certificate, or set the clock (the RTC, in the firmware's setup) if it is ahead"}
}

// certNames are the names a certificate is for.
func certNames(c *x509.Certificate) string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return c.Subject.CommonName + " (its common name only, which TLS clients no longer accept)"
	}
	return strings.Join(names, ", ")
}

// Count says how many CAs the bundle holds: "the one CA", "any of the 144
// CAs".
func (c *Client) Count() string {
	if c.CAs == 1 {
		return "the one CA"
	}
	return fmt.Sprintf("any of the %d CAs", c.CAs)
}

func (c *Client) bundle() string {
	if c.Bundle == "" {
		return "the bundle"
	}
	return c.Bundle
}
