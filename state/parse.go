package state

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse decodes state.json's text (bench and the VM tests get it from a
// guest's console).
func Parse(b []byte) (State, error) {
	var st State
	err := decode(b, st.decode)
	return st, err
}

// ParseUsage decodes usage.json's text.
func ParseUsage(b []byte) (Usage, error) {
	var u Usage
	err := decode(b, u.decode)
	return u, err
}

// ParseNBD decodes the NBD note's text (NBD.JSON).
func ParseNBD(b []byte) (NBD, error) {
	var n NBD
	err := decode(b, n.decode)
	return n, err
}

func (s *State) decode(d *decoder) error {
	if d.null() {
		return nil
	}
	return d.object(func(name string) error {
		switch name = fieldName(name); name {
		case "params":
			return d.strMap(&s.Params)
		case "cd":
			return d.setStr(&s.CD)
		case "cd_mount":
			return d.setStr(&s.CDMount)
		case "loop":
			return d.setStr(&s.Loop)
		case "container":
			return d.setStr(&s.Container)
		case "container_loop":
			return d.setStr(&s.ContainerLoop)
		case "iso_disk":
			return d.setStr(&s.ISODisk)
		case "iso_loop":
			return d.setStr(&s.ISOLoop)
		case "image_in_ram":
			return d.setStr(&s.ImageInRAM)
		case "grown_base":
			return d.setStr(&s.GrownBase)
		case "cd_released":
			return d.setBool(&s.CDReleased)
		case "verity":
			return decodePtr(d, &s.Verity)
		case "verity_off":
			return d.setStr(&s.VerityOff)
		case "net":
			return decodePtr(d, &s.Net)
		case "nbd":
			return decodePtr(d, &s.NBD)
		}
		return s.decodeRest(d, name)
	})
}

// decodeRest is State.decode's second half, for the member name (folded).
func (s *State) decodeRest(d *decoder, name string) error {
	switch name {
	case "origin":
		return d.setStr(&s.Origin)
	case "cow":
		return d.setStr(&s.COW)
	case "cow_bytes":
		return setUint(d, &s.COWBytes)
	case "device":
		return d.setStr(&s.Device)
	case "dm_minor":
		return setUint(d, &s.DMMinor)
	case "table":
		return d.setStr(&s.Table)
	case "fstype":
		return d.setStr(&s.FSType)
	case "root_free_bytes":
		return setUint(d, &s.RootFreeBytes)
	case "boot_chain":
		return decodePtr(d, &s.BootChain)
	case "watcher_pid":
		return d.setInt(&s.Watcher)
	case "phases":
		return decodeSlice(d, &s.Phases, func(p *Phase) error { return p.decode(d) })
	}
	return d.skip()
}

func (p *Phase) decode(d *decoder) error {
	if d.null() {
		return nil
	}
	return d.object(func(name string) error {
		switch fieldName(name) {
		case "name":
			return d.setStr(&p.Name)
		case "ms":
			return d.setFloat(&p.Millis)
		}
		return d.skip()
	})
}

func (v *Verity) decode(d *decoder) error {
	if d.null() {
		return nil
	}
	return d.object(func(name string) error {
		switch fieldName(name) {
		case "root_hash":
			return d.setStr(&v.RootHash)
		case "hash_tree":
			return d.setStr(&v.HashTree)
		case "device":
			return d.setStr(&v.Device)
		case "data_blocks":
			return setUint(d, &v.DataBlocks)
		case "block_size":
			return setUint(d, &v.BlockSize)
		case "on_corrupt":
			return d.setStr(&v.OnCorrupt)
		case "unverified":
			return d.setStr(&v.Unverified)
		}
		return d.skip()
	})
}

func (n *Net) decode(d *decoder) error {
	if d.null() {
		return nil
	}
	return d.object(func(name string) error {
		switch fieldName(name) {
		case "iface":
			return d.setStr(&n.Iface)
		case "mac":
			return d.setStr(&n.MAC)
		case "address":
			return d.setStr(&n.Address)
		case "gateway":
			return d.setStr(&n.Gateway)
		case "dhcp_server":
			return d.setStr(&n.Server)
		case "url":
			return d.setStr(&n.URL)
		}
		return d.skip()
	})
}

func (n *NBD) decode(d *decoder) error {
	if d.null() {
		return nil
	}
	return d.object(func(name string) error {
		switch fieldName(name) {
		case "url":
			return d.setStr(&n.URL)
		case "server":
			return d.setStr(&n.Server)
		case "export":
			return d.setStr(&n.Export)
		case "device":
			return d.setStr(&n.Device)
		case "size_bytes":
			return setUint(d, &n.Size)
		case "dead_conn_s":
			return d.setInt(&n.DeadConn)
		}
		return d.skip()
	})
}

func (c *BootChain) decode(d *decoder) error {
	if d.null() {
		return nil
	}
	return d.object(func(name string) error {
		switch fieldName(name) {
		case "uefi":
			return d.setBool(&c.UEFI)
		case "secure_boot":
			return d.setStr(&c.SecureBoot)
		case "lockdown":
			return d.setStr(&c.Lockdown)
		case "stub":
			return d.setStr(&c.Stub)
		case "cmdline_signed":
			return d.setBool(&c.CmdlineSigned)
		}
		return d.skip()
	})
}

func (u *Usage) decode(d *decoder) error {
	if d.null() {
		return nil
	}
	return d.object(func(name string) error {
		switch fieldName(name) {
		case "used_sectors":
			return setUint(d, &u.UsedSectors)
		case "total_sectors":
			return setUint(d, &u.TotalSectors)
		case "metadata_sectors":
			return setUint(d, &u.MetadataSectors)
		case "percent":
			return d.setFloat(&u.Percent)
		case "invalid":
			return d.setBool(&u.Invalid)
		case "invalid_cause":
			return d.setStr(&u.InvalidCause)
		case "overflow":
			return d.setBool(&u.Overflow)
		case "uptime_s":
			return d.setFloat(&u.Uptime)
		case "verity_corrupted":
			return d.setBool(&u.VerityCorrupted)
		case "verity_blocks":
			return decodeSlice(d, &u.VerityBlocks, d.setStr)
		}
		return d.skip()
	})
}

// fieldName is a member's name as encoding/json matches it to a field:
// exactly, or else case-insensitively, comparing each rune upper-cased
// (its foldName). Every field's name is lower-case ASCII, so a name that
// upper-cases to ASCII is looked up lower-cased, and any other matches
// none.
func fieldName(name string) string {
	u := strings.ToUpper(name)
	for i := 0; i < len(u); i++ {
		if u[i] >= utf8.RuneSelf {
			return name
		}
	}
	return strings.ToLower(u)
}

// The setters leave the value as it was on null, as encoding/json does.

func (d *decoder) setStr(p *string) error {
	if d.null() {
		return nil
	}
	s, err := d.str()
	if err == nil {
		*p = s
	}
	return err
}

func (d *decoder) setBool(p *bool) error {
	switch {
	case d.null():
	case d.literal("true"):
		*p = true
	case d.literal("false"):
		*p = false
	default:
		return d.fail("where a bool begins")
	}
	return nil
}

// setUint takes an integer that fits T, as encoding/json does: no sign,
// fraction or exponent.
func setUint[T uint32 | uint64](d *decoder, p *T) error {
	if d.null() {
		return nil
	}
	s, err := d.number()
	if err != nil {
		return err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return err
	}
	if uint64(T(v)) != v {
		return &strconv.NumError{Func: "ParseUint", Num: s, Err: strconv.ErrRange}
	}
	*p = T(v)
	return nil
}

func (d *decoder) setInt(p *int) error {
	if d.null() {
		return nil
	}
	s, err := d.number()
	if err != nil {
		return err
	}
	v, err := strconv.ParseInt(s, 10, strconv.IntSize)
	if err == nil {
		*p = int(v)
	}
	return err
}

func (d *decoder) setFloat(p *float64) error {
	if d.null() {
		return nil
	}
	s, err := d.number()
	if err != nil {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err == nil {
		*p = v
	}
	return err
}
