// Package dm is a tiny device-mapper client: it builds tables, parses target
// status lines, and (on Linux) talks to /dev/mapper/control with raw ioctls.
// The table builder and the status parser are pure and tested anywhere; the
// kernel's reference is Documentation/admin-guide/device-mapper/snapshot.rst
// and include/uapi/linux/dm-ioctl.h.
package dm

import (
	"fmt"
	"strconv"
	"strings"
)

// Target is one line of a device-mapper table.
type Target struct {
	Start  uint64 // first sector covered
	Length uint64 // number of 512-byte sectors
	Type   string // target type, e.g. "snapshot"
	Params string // the target's own arguments
}

// String renders the target as dmsetup prints it: "START LENGTH TYPE PARAMS".
func (t Target) String() string {
	return fmt.Sprintf("%d %d %s %s", t.Start, t.Length, t.Type, t.Params)
}

// Snapshot returns the how-to's target "0 SZ snapshot ORIGIN COW STORE
// CHUNK". store is the exception store (snapshot.rst): N (in memory; a full
// COW store invalidates the snapshot), P (on the COW device, with a header)
// or PO (P, and a full store only refuses new writes: status "Overflow").
// It refuses what the kernel would refuse, with the reason, so the user
// reads a sentence rather than EINVAL.
func Snapshot(sectors uint64, origin, cow, store string, chunk uint32) (Target, error) {
	switch {
	case sectors == 0:
		return Target{}, fmt.Errorf("origin %s is empty (0 sectors)", origin)
	case origin == "" || cow == "":
		return Target{}, fmt.Errorf("snapshot needs an origin and a COW device")
	case strings.ContainsAny(origin+cow, " \t\n"):
		return Target{}, fmt.Errorf("device paths cannot contain spaces: %q %q", origin, cow)
	case origin == cow:
		return Target{}, fmt.Errorf("origin and COW are the same device %s", origin)
	case chunk == 0 || chunk&(chunk-1) != 0:
		return Target{}, fmt.Errorf("chunk size %d is not a power of two", chunk)
	case store != "N" && store != "P" && store != "PO":
		return Target{}, fmt.Errorf("exception store %q: want N, P or PO", store)
	}
	return Target{Length: sectors, Type: "snapshot", Params: fmt.Sprintf("%s %s %s %d", origin, cow, store, chunk)}, nil
}

// SnapshotStatus is a snapshot target's status line, decoded.
type SnapshotStatus struct {
	Invalid  bool   // the COW store overflowed or failed: the snapshot is dead
	Overflow bool   // a PO store is full: new writes fail, reads work
	Used     uint64 // sectors of the COW store in use, data and metadata
	Total    uint64 // sectors of the COW store
	Metadata uint64 // sectors used for metadata
}

// Percent is how full the COW store is, 0 to 100; an invalid snapshot is 100.
func (s SnapshotStatus) Percent() float64 {
	if s.Invalid || s.Overflow {
		return 100
	}
	if s.Total == 0 {
		return 0
	}
	return 100 * float64(s.Used) / float64(s.Total)
}

func (s SnapshotStatus) String() string {
	switch {
	case s.Invalid:
		return "Invalid"
	case s.Overflow:
		return "Overflow"
	}
	return fmt.Sprintf("%d/%d %d", s.Used, s.Total, s.Metadata)
}

// ParseSnapshotStatus reads the snapshot target's status text:
// "<sectors_allocated>/<total_sectors> <metadata_sectors>", "Invalid",
// "Overflow" or "Merge failed". An empty status (no COW chunks yet on old
// kernels) is not an error.
func ParseSnapshotStatus(s string) (SnapshotStatus, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "Invalid", "Merge failed":
		return SnapshotStatus{Invalid: true}, nil
	case "Overflow":
		return SnapshotStatus{Overflow: true}, nil
	case "Unknown":
		return SnapshotStatus{}, fmt.Errorf("snapshot status is Unknown")
	}
	f := strings.Fields(s)
	if len(f) != 2 {
		return SnapshotStatus{}, fmt.Errorf("snapshot status %q: want USED/TOTAL METADATA", s)
	}
	used, total, ok := strings.Cut(f[0], "/")
	if !ok {
		return SnapshotStatus{}, fmt.Errorf("snapshot status %q: no USED/TOTAL", s)
	}
	var st SnapshotStatus
	var err error
	if st.Used, err = strconv.ParseUint(used, 10, 64); err != nil {
		return SnapshotStatus{}, fmt.Errorf("snapshot status %q: used: %w", s, err)
	}
	if st.Total, err = strconv.ParseUint(total, 10, 64); err != nil {
		return SnapshotStatus{}, fmt.Errorf("snapshot status %q: total: %w", s, err)
	}
	if st.Metadata, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return SnapshotStatus{}, fmt.Errorf("snapshot status %q: metadata: %w", s, err)
	}
	if st.Used > st.Total || st.Metadata > st.Used {
		return SnapshotStatus{}, fmt.Errorf("snapshot status %q: counts out of order", s)
	}
	return st, nil
}

// Grown returns the table of a device that is origin (sectors long)
// followed by extra sectors of zeros (the linear and zero targets): a base
// with room to grow a file system into, the origin itself never written.
func Grown(origin string, sectors, extra uint64) ([]Target, error) {
	switch {
	case sectors == 0:
		return nil, fmt.Errorf("origin %s is empty (0 sectors)", origin)
	case extra == 0:
		return nil, fmt.Errorf("growing %s by 0 sectors", origin)
	case strings.ContainsAny(origin, " \t\n"):
		return nil, fmt.Errorf("device paths cannot contain spaces: %q", origin)
	}
	return []Target{
		{Start: 0, Length: sectors, Type: "linear", Params: origin + " 0"},
		{Start: sectors, Length: extra, Type: "zero"},
	}, nil
}

// VerityTable is a verity target's arguments (verity.rst): the data device
// checked against the hash device's tree, whose root is Root.
type VerityTable struct {
	Data, Hash     string // device paths
	DataBlockSize  uint32 // bytes
	HashBlockSize  uint32 // bytes
	DataBlocks     uint64
	HashStartBlock uint64 // the tree's first block on Hash, in hash blocks
	Algorithm      string // sha256
	Root, Salt     []byte
	// OnCorrupt is what a block that fails its check does: "error" (the
	// read fails with EIO, the kernel's default), "restart" or "panic".
	OnCorrupt string
}

// Verity returns the target "0 SZ verity 1 DATA HASH DBS HBS BLOCKS START
// ALG ROOT SALT [OPTS]", hash format 1, covering the data blocks.
func Verity(v VerityTable) (Target, error) {
	pow2 := func(n uint32) bool { return n >= 512 && n&(n-1) == 0 }
	switch {
	case v.Data == "" || v.Hash == "":
		return Target{}, fmt.Errorf("verity needs a data and a hash device")
	case strings.ContainsAny(v.Data+v.Hash+v.Algorithm, " \t\n"):
		return Target{}, fmt.Errorf("device paths and the algorithm cannot contain spaces")
	case !pow2(v.DataBlockSize) || !pow2(v.HashBlockSize):
		return Target{}, fmt.Errorf("verity block sizes %d/%d: want powers of two of at least 512", v.DataBlockSize, v.HashBlockSize)
	case v.DataBlocks == 0:
		return Target{}, fmt.Errorf("verity over 0 data blocks")
	case len(v.Root) == 0:
		return Target{}, fmt.Errorf("verity needs a root hash")
	}
	salt := "-"
	if len(v.Salt) > 0 {
		salt = fmt.Sprintf("%x", v.Salt)
	}
	params := fmt.Sprintf("1 %s %s %d %d %d %d %s %x %s", v.Data, v.Hash, v.DataBlockSize, v.HashBlockSize,
		v.DataBlocks, v.HashStartBlock, v.Algorithm, v.Root, salt)
	switch v.OnCorrupt {
	case "", "error":
	case "restart":
		params += " 1 restart_on_corruption"
	case "panic":
		params += " 1 panic_on_corruption"
	default:
		return Target{}, fmt.Errorf("verity: on corruption %q: want error, restart or panic", v.OnCorrupt)
	}
	return Target{Length: v.DataBlocks * uint64(v.DataBlockSize/512), Type: "verity", Params: params}, nil
}

// ParseVerityStatus reads a verity target's status: "V" (every block read
// so far verified) or "C" (a corrupted block was found). It reports
// whether the device found corruption.
func ParseVerityStatus(s string) (corrupted bool, err error) {
	switch f := strings.Fields(s); {
	case len(f) > 0 && f[0] == "V":
		return false, nil
	case len(f) > 0 && f[0] == "C":
		return true, nil
	}
	return false, fmt.Errorf("verity status %q: want V or C", s)
}
