package main

import (
	"fmt"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/superblock"
	"golang.org/x/sys/unix"
)

// cdSearch is one search for the CD (findCD): what sandbox.cd asks for,
// and what the looks so far found.
type cdSearch struct {
	s          *sandbox
	ref        config.DevRef // sandbox.cd
	want       string        // its path; the device found, once found
	seen       []string      // the candidates of the last look
	warned     map[string]bool
	isofsReady bool
	isofsErr   error // isofs did not load
	mountErr   error // the last mount attempt's
	twice      error // two discs match the UUID
	// match and pvds are the discs with the label of the last look, kept
	// for when the drivers never get ready (a probe that hangs).
	match []string
	pvds  []superblock.PVD
}

// try mounts dev read-only on cdDir as ISO 9660.
func (c *cdSearch) try(dev string) bool {
	if !c.isofsReady {
		// Only now: waiting earlier would start isofs at full priority
		// while the drive's own drivers still load.
		if c.isofsErr = c.s.need("isofs"); c.isofsErr != nil {
			return false
		}
		c.isofsReady = true
	}
	err := unix.Mount(dev, cdDir, "iso9660", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, "")
	if err != nil {
		c.mountErr = fmt.Errorf("mount %s on %s (iso9660, read-only): %w", dev, cdDir, err)
		return false
	}
	return true
}

// look is one look at every candidate (waitDevice's check): each is
// identified by its volume descriptor before any mount, and only the disc
// sandbox.cd names is mounted.
func (c *cdSearch) look() (bool, error) {
	if c.isofsErr != nil {
		return false, c.isofsErr
	}
	if c.ref.IsPath() {
		return isBlock(c.want) && c.try(c.want), nil
	}
	// Ready before the look: a look that began after the drivers were
	// ready has seen every disc there is.
	ready := false
	select {
	case <-c.s.driversReady():
		ready = true
	default:
	}
	c.seen = cdCandidates("/sys/class/block")
	var match []string
	var pvds []superblock.PVD
	byUUID, byLabel := c.ref.Kind == config.RefUUID, c.ref.Kind == config.RefLabel
	for _, dev := range c.seen {
		p, ok := readPVD(dev)
		switch {
		case !ok:
			continue // no ISO 9660 disc (yet): never mounted
		case byUUID && p.UUID == c.ref.Value, byLabel && p.Label == c.ref.Value:
			match, pvds = append(match, dev), append(pvds, p)
		case byUUID:
			if !c.warned[dev] {
				c.warned[dev] = true
				c.s.log.Warnf("WARNING: skipping %s: ISO 9660 disc %s is not the Live CD this kernel was built with (sandbox.cd=%s)", dev, p, c.s.cfg.CD)
			}
		case byLabel:
		default:
			if c.try(dev) {
				c.want = dev
				return true, nil
			}
		}
	}
	switch {
	case len(match) > 1 && byUUID:
		c.twice = fmt.Errorf("two discs match sandbox.cd=%s: %s; remove one", c.s.cfg.CD, strings.Join(match, " and "))
		return false, c.twice
	case len(match) > 0 && ready:
		return c.bootLabelled(match, pvds), nil
	}
	c.match, c.pvds = match, pvds
	return false, nil
}

// bootLabelled mounts the first of the discs that carry the label. A label
// is not an identity: of several discs that carry it, the first in the
// search's order boots (CD drives first), and the others are named.
func (c *cdSearch) bootLabelled(match []string, pvds []superblock.PVD) bool {
	if !c.try(match[0]) {
		return false
	}
	c.want = match[0]
	for i := 1; i < len(match); i++ {
		c.s.log.Warnf("WARNING: %s also carries the label %q: %s %s booted, %s %s did not; to choose, use sandbox.cd=UUID=<UUID> or sandbox.cd=/dev/…",
			match[i], c.ref.Value, match[0], pvds[0], match[i], pvds[i])
	}
	return true
}
