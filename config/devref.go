package config

import (
	"errors"
	"strings"
)

// RefKind says how a DevRef names its device.
type RefKind uint8

// The kinds of device reference. RefNone is the zero DevRef: no device
// named (sandbox.origin unset, sandbox.iso without a device part).
const (
	RefNone  RefKind = iota
	RefAuto          // "auto": the init searches
	RefPath          // a clean /dev path
	RefLabel         // LABEL=<label>
	RefUUID          // UUID=<uuid>
)

// DevRef is a device named on the command line (sandbox.cd, sandbox.origin,
// sandbox.iso's device part), parsed once here so that the init and mklive
// switch on Kind instead of cutting LABEL= and UUID= prefixes again.
type DevRef struct {
	Kind RefKind
	// Value is the path, the label or the UUID (without its LABEL= or
	// UUID= prefix); "" for RefNone and RefAuto.
	Value string
}

// Path, Label and UUID make the references mklive writes into a command
// line and tests compare.
func Path(p string) DevRef  { return DevRef{Kind: RefPath, Value: p} }
func Label(l string) DevRef { return DevRef{Kind: RefLabel, Value: l} }
func UUID(u string) DevRef  { return DevRef{Kind: RefUUID, Value: u} }

// Auto is sandbox.cd's default: search every drive and disk.
var Auto = DevRef{Kind: RefAuto}

var errEmptyRef = errors.New("has an empty label or UUID")

// ParseDevRef reads "auto", LABEL=<label>, UUID=<uuid> or a clean /dev
// path. Which kinds a key accepts (sandbox.origin only a path, sandbox.cd
// only an ISO 9660 UUID) is the key's setter's to check.
func ParseDevRef(v string) (DevRef, error) {
	if v == "auto" {
		return Auto, nil
	}
	for _, k := range []struct {
		prefix string
		kind   RefKind
	}{{"LABEL=", RefLabel}, {"UUID=", RefUUID}} {
		if s, ok := strings.CutPrefix(v, k.prefix); ok {
			r := DevRef{Kind: k.kind, Value: s}
			if s == "" {
				return r, errEmptyRef
			}
			return r, nil
		}
	}
	if err := devPath(v); err != nil {
		return DevRef{}, err
	}
	return Path(v), nil
}

// String is the reference as the command line spells it, which
// ParseDevRef reads back; "" for RefNone.
func (r DevRef) String() string {
	switch r.Kind {
	case RefAuto:
		return "auto"
	case RefLabel:
		return "LABEL=" + r.Value
	case RefUUID:
		return "UUID=" + r.Value
	}
	return r.Value
}

// IsZero tells whether the reference names nothing.
func (r DevRef) IsZero() bool { return r.Kind == RefNone }

// IsPath tells whether the reference is a /dev path, taken as it is with no
// search.
func (r DevRef) IsPath() bool { return r.Kind == RefPath }

// ISORef is sandbox.iso: a Live CD's ISO file on a disk, and the disk to
// look on (a path, label or UUID; RefNone for every disk and partition).
type ISORef struct {
	Dev  DevRef
	File string
}

// IsZero tells whether sandbox.iso was not given.
func (r ISORef) IsZero() bool { return r.Dev.IsZero() && r.File == "" }

// String is sandbox.iso's value: [DEV:]/path/file.iso.
func (r ISORef) String() string {
	if r.Dev.IsZero() {
		return r.File
	}
	return r.Dev.String() + ":" + r.File
}

// splitISO splits sandbox.iso's value into the device part and the file
// part: a value that starts with a path outside /dev is a file alone.
func splitISO(v string) (dev, file string) {
	if strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "/dev/") {
		return "", v
	}
	dev, file, _ = strings.Cut(v, ":")
	return dev, file
}
