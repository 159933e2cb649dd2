package config

import "strings"

// COWKind says where the copy-on-write store lives.
type COWKind uint8

// The COW stores: a brd RAM disk, a zram device, or a scratch disk.
const (
	COWRam0 COWKind = iota
	COWZram
	COWDisk
)

// COWStore is sandbox.cow: ram0, zram or the /dev path of a scratch disk.
// The zero value is ram0, the default.
type COWStore struct {
	Kind COWKind
	Dev  string // the scratch disk's path, for COWDisk
}

// COWRAM and COWZRAM are the RAM-backed stores; DiskCOW a scratch disk.
var (
	COWRAM  = COWStore{Kind: COWRam0}
	COWZRAM = COWStore{Kind: COWZram}
)

// DiskCOW is a scratch disk's COW store.
func DiskCOW(dev string) COWStore { return COWStore{Kind: COWDisk, Dev: dev} }

// InRAM tells a store that lives in RAM (ram0 or zram), which a reboot
// empties and whose size sandbox.cowsize sets.
func (s COWStore) InRAM() bool { return s.Kind != COWDisk }

// String is the store as sandbox.cow spells it; also its device's name for
// ram0 and zram before the init knows the device's path.
func (s COWStore) String() string {
	switch s.Kind {
	case COWRam0:
		return "ram0"
	case COWZram:
		return "zram"
	}
	return s.Dev
}

func parseCOW(v string) (COWStore, error) {
	switch v {
	case "ram0":
		return COWRAM, nil
	case "zram":
		return COWZRAM, nil
	}
	return DiskCOW(v), devPath(v)
}

// StoreType is the snapshot's exception store (sandbox.store).
type StoreType uint8

// StorePO is persistent with overflow (the default): a full COW store
// refuses new writes and the rest stays readable. StoreN is the how-to's
// non-persistent store: a full store invalidates the snapshot.
const (
	StorePO StoreType = iota
	StoreN
)

// String is the store as dm-snapshot's table (and sandbox.store) spell it.
func (t StoreType) String() string {
	if t == StoreN {
		return "N"
	}
	return "PO"
}

func parseStore(v string) (StoreType, bool) {
	switch strings.ToUpper(v) {
	case "PO":
		return StorePO, true
	case "N":
		return StoreN, true
	}
	return StorePO, false
}

// Tristate is a no/yes/auto value (sandbox.toram). The zero value is no.
type Tristate uint8

// No, Yes and AutoYes are the three answers: AutoYes is "auto", decided at
// boot.
const (
	No Tristate = iota
	Yes
	AutoYes
)

var tristateWords = [...]string{No: "no", Yes: "yes", AutoYes: "auto"}

func (t Tristate) String() string { return tristateWords[t] }

func parseTristate(v string) (Tristate, bool) {
	for t, w := range tristateWords {
		if v == w {
			return Tristate(t), true
		}
	}
	return No, false
}

// Grow is sandbox.grow: what an ext2/3/4 root image grows to at boot. The
// zero value is "no".
type Grow struct {
	// Auto grows the file system until its free space is the COW store's
	// size.
	Auto bool
	// To is the size in bytes to grow it to, when not Auto; 0 for no.
	To uint64
}

// Off tells whether the image stays as it is.
func (g Grow) Off() bool { return !g.Auto && g.To == 0 }

// String is the policy as sandbox.grow spells it; a size in the largest
// unit that divides it (4096M is 4G).
func (g Grow) String() string {
	switch {
	case g.Auto:
		return "auto"
	case g.To == 0:
		return "no"
	}
	return FormatBytes(g.To)
}

func parseGrow(v string) (Grow, bool) {
	switch v {
	case "no":
		return Grow{}, true
	case "auto":
		return Grow{Auto: true}, true
	}
	s, err := ParseSize(v)
	if err != nil || s.Percent > 0 {
		return Grow{}, false
	}
	return Grow{To: s.Bytes}, true
}
