package main

import (
	"bytes"
	"fmt"
	"strings"
)

// isoPVD is what an ISO 9660 primary volume descriptor (sector 16) tells
// about a disc without mounting it: its label and its per-build identity.
type isoPVD struct {
	Label string // the volume id, what blkid shows as LABEL
	// UUID is the volume's date as blkid shows it as UUID:
	// 2026-11-26-02-55-00-00; "" when the disc has none. mklive sets it
	// per build (xorriso's -volume_date uuid).
	UUID string
}

// parsePVD reads a primary volume descriptor: the 2048-byte sector 16 of
// an ISO 9660 file system. ok is false when the sector is not one ("CD001"
// with type 1). The UUID is the modification date (bytes 830-846) or, when
// that is unset, the creation date (bytes 813-829), as blkid takes it.
func parsePVD(b []byte) (p isoPVD, ok bool) {
	if len(b) < 2048 || b[0] != 1 || !bytes.Equal(b[1:6], []byte("CD001")) {
		return p, false
	}
	p.Label = strings.TrimRight(string(b[40:72]), " \x00")
	p.UUID = pvdDate(b[830:846])
	if p.UUID == "" {
		p.UUID = pvdDate(b[813:829])
	}
	return p, true
}

// pvdDate turns a descriptor's date, 16 ASCII digits YYYYMMDDhhmmsscc, into
// blkid's form YYYY-MM-DD-hh-mm-ss-cc; "" for an unset date (zeros, or
// anything that is not 16 digits).
func pvdDate(d []byte) string {
	if len(d) != 16 || strings.Trim(string(d), "0") == "" {
		return ""
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return ""
		}
	}
	return fmt.Sprintf("%s-%s-%s-%s-%s-%s-%s", d[0:4], d[4:6], d[6:8], d[8:10], d[10:12], d[12:14], d[14:16])
}

// describeDisc names a disc for the log: `"SANDBOX" (UUID 2026-…)`.
func describeDisc(p isoPVD) string {
	u := p.UUID
	if u == "" {
		u = "none"
	}
	return fmt.Sprintf("%q (UUID %s)", p.Label, u)
}
