package superblock

import (
	"bytes"
	"fmt"
	"strings"
)

// PVD is what an ISO 9660 primary volume descriptor tells about a disc
// without mounting it: its label and its per-build identity.
type PVD struct {
	Label string // the volume id, what blkid shows as LABEL
	// UUID is the volume's date as blkid shows it as UUID:
	// 2026-11-26-02-55-00-00; "" when the disc has none. mklive sets it
	// per build (xorriso's -volume_date uuid).
	UUID string
}

// SectorSize is ISO 9660's logical sector, the unit of a session's start.
const SectorSize = 2048

// FindPVD reads the primary volume descriptor of the session that starts
// at sector session, as the kernel's isofs does when it mounts the disc:
// the descriptors follow each other from the session's sector 16, until
// the set terminator (type 255), and the first of type 1 is the primary
// one (an El Torito boot record, type 0, may come first). The last session
// of a multi-session disc is the one mounted (LastSession), and its
// descriptor, not the first session's, carries the disc's current label
// and date. read returns one SectorSize sector.
func FindPVD(read func(sector int64) ([]byte, error), session int64) (PVD, bool) {
	for sec := session + 16; sec < session+100; sec++ { // isofs's own bound
		b, err := read(sec)
		if err != nil || len(b) < SectorSize || !bytes.Equal(b[1:6], []byte("CD001")) || b[0] == 255 {
			return PVD{}, false
		}
		if p, ok := ParsePVD(b); ok {
			return p, true
		}
	}
	return PVD{}, false
}

// LastSession is the sector where isofs looks for a disc's volume
// descriptors, from the drive's CDROMMULTISESSION answer (ok false: the
// ioctl failed, as on a disk or a drive that does not know): the last
// session's start, but only when the drive flags the disc as an XA
// multi-session one, as fs/isofs/inode.c takes it; else 0.
func LastSession(lba int32, xa, ok bool) int64 {
	if !ok || !xa || lba < 0 {
		return 0
	}
	return int64(lba)
}

// ParsePVD reads a primary volume descriptor: the 2048-byte sector 16 of
// an ISO 9660 file system. ok is false when the sector is not one ("CD001"
// with type 1). The UUID is the modification date (bytes 830-846) or, when
// that is unset, the creation date (bytes 813-829), as blkid takes it.
func ParsePVD(b []byte) (p PVD, ok bool) {
	if len(b) < SectorSize || b[0] != 1 || !bytes.Equal(b[1:6], []byte("CD001")) {
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

// String names a disc for the log: `"SANDBOX" (UUID 2026-…)`.
func (p PVD) String() string {
	u := p.UUID
	if u == "" {
		u = "none"
	}
	return fmt.Sprintf("%q (UUID %s)", p.Label, u)
}
