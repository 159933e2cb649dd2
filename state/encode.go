package state

import (
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// The files are written by hand, not by encoding/json: its reflection is
// ~127 KB of every compressed init, and code that the emulated CPU of a
// TCG boot translates on its first (and only) run, on the boot's critical
// path just before switch_root. The output is byte for byte
// encoding/json's (encode_test.go compares them on random values): same
// field order, omitempty, sorted map keys, float and string formatting.

// JSON is state.json's text, as json.MarshalIndent(s, "", "  ") writes it
// (without a final newline).
func (s *State) JSON() []byte {
	w := &writer{indent: true, b: make([]byte, 0, 2048)}
	w.open('{')
	w.key("params")
	w.strMap(s.Params)
	w.optStr("cd", s.CD)
	w.optStr("cd_mount", s.CDMount)
	w.optStr("loop", s.Loop)
	w.optStr("container", s.Container)
	w.optStr("container_loop", s.ContainerLoop)
	w.optStr("iso_disk", s.ISODisk)
	w.optStr("iso_loop", s.ISOLoop)
	w.optStr("image_in_ram", s.ImageInRAM)
	w.optStr("grown_base", s.GrownBase)
	w.optBool("cd_released", s.CDReleased)
	if s.Verity != nil {
		w.key("verity")
		s.Verity.encode(w)
	}
	w.optStr("verity_off", s.VerityOff)
	if s.Net != nil {
		w.key("net")
		s.Net.encode(w)
	}
	if s.NBD != nil {
		w.key("nbd")
		s.NBD.encode(w)
	}
	w.strField("origin", s.Origin)
	w.strField("cow", s.COW)
	w.uintField("cow_bytes", s.COWBytes)
	w.strField("device", s.Device)
	w.uintField("dm_minor", uint64(s.DMMinor))
	w.strField("table", s.Table)
	w.strField("fstype", s.FSType)
	w.uintField("root_free_bytes", s.RootFreeBytes)
	if s.BootChain != nil {
		w.key("boot_chain")
		s.BootChain.encode(w)
	}
	if s.Watcher != 0 {
		w.key("watcher_pid")
		w.b = strconv.AppendInt(w.b, int64(s.Watcher), 10)
	}
	w.key("phases")
	s.encodePhases(w)
	w.close('}')
	return w.b
}

func (s *State) encodePhases(w *writer) {
	if s.Phases == nil {
		w.null()
		return
	}
	w.open('[')
	for _, p := range s.Phases {
		w.next()
		w.open('{')
		w.strField("name", p.Name)
		w.key("ms")
		w.float(p.Millis)
		w.close('}')
	}
	w.close(']')
}

func (v *Verity) encode(w *writer) {
	w.open('{')
	w.strField("root_hash", v.RootHash)
	w.strField("hash_tree", v.HashTree)
	w.strField("device", v.Device)
	w.uintField("data_blocks", v.DataBlocks)
	w.uintField("block_size", uint64(v.BlockSize))
	w.strField("on_corrupt", v.OnCorrupt)
	w.optStr("unverified", v.Unverified)
	w.close('}')
}

func (n *Net) encode(w *writer) {
	w.open('{')
	w.strField("iface", n.Iface)
	w.strField("mac", n.MAC)
	w.strField("address", n.Address)
	w.optStr("gateway", n.Gateway)
	w.optStr("dhcp_server", n.Server)
	w.optStr("url", n.URL)
	w.close('}')
}

// JSON is the NBD note's text (watch.NBDNote), as json.Marshal(n) writes
// it: "null" for nil.
func (n *NBD) JSON() []byte {
	w := &writer{}
	if n == nil {
		w.null()
		return w.b
	}
	n.encode(w)
	return w.b
}

func (n *NBD) encode(w *writer) {
	w.open('{')
	w.strField("url", n.URL)
	w.strField("server", n.Server)
	w.strField("export", n.Export)
	w.strField("device", n.Device)
	w.uintField("size_bytes", n.Size)
	w.key("dead_conn_s")
	w.b = strconv.AppendInt(w.b, int64(n.DeadConn), 10)
	w.close('}')
}

func (c *BootChain) encode(w *writer) {
	w.open('{')
	w.boolField("uefi", c.UEFI)
	w.strField("secure_boot", c.SecureBoot)
	w.optStr("lockdown", c.Lockdown)
	w.optStr("stub", c.Stub)
	w.boolField("cmdline_signed", c.CmdlineSigned)
	w.close('}')
}

// JSON is usage.json's text, as json.Marshal(u) writes it (one line,
// without a final newline).
func (u *Usage) JSON() []byte {
	w := &writer{b: make([]byte, 0, 256)}
	w.open('{')
	w.uintField("used_sectors", u.UsedSectors)
	w.uintField("total_sectors", u.TotalSectors)
	w.uintField("metadata_sectors", u.MetadataSectors)
	w.key("percent")
	w.float(u.Percent)
	w.boolField("invalid", u.Invalid)
	w.optStr("invalid_cause", u.InvalidCause)
	w.boolField("overflow", u.Overflow)
	w.key("uptime_s")
	w.float(u.Uptime)
	w.optBool("verity_corrupted", u.VerityCorrupted)
	if len(u.VerityBlocks) > 0 {
		w.key("verity_blocks")
		w.open('[')
		for _, b := range u.VerityBlocks {
			w.next()
			w.str(b)
		}
		w.close(']')
	}
	w.close('}')
	return w.b
}

// writer appends JSON text in encoding/json's layout: Marshal's compact
// one, or with indent MarshalIndent(v, "", "  ")'s, which puts each member
// and element on its own line, a space after the colon, and leaves an empty
// object or array as "{}" or "[]".
type writer struct {
	b      []byte
	indent bool
	depth  int
	empty  bool // the innermost open object or array has nothing in it yet
}

func (w *writer) open(c byte) {
	w.b = append(w.b, c)
	w.depth++
	w.empty = true
}

func (w *writer) close(c byte) {
	w.depth--
	if !w.empty {
		w.newline()
	}
	w.b = append(w.b, c)
	w.empty = false
}

// next starts a member or an element.
func (w *writer) next() {
	if !w.empty {
		w.b = append(w.b, ',')
	}
	w.newline()
	w.empty = false
}

func (w *writer) newline() {
	if !w.indent {
		return
	}
	w.b = append(w.b, '\n')
	for range w.depth {
		w.b = append(w.b, ' ', ' ')
	}
}

func (w *writer) key(name string) {
	w.next()
	w.str(name)
	w.b = append(w.b, ':')
	if w.indent {
		w.b = append(w.b, ' ')
	}
}

func (w *writer) null() { w.b = append(w.b, "null"...) }

func (w *writer) strField(name, v string) {
	w.key(name)
	w.str(v)
}

// optStr and optBool are omitempty's fields: left out when zero.
func (w *writer) optStr(name, v string) {
	if v != "" {
		w.strField(name, v)
	}
}

func (w *writer) optBool(name string, v bool) {
	if v {
		w.boolField(name, v)
	}
}

func (w *writer) boolField(name string, v bool) {
	w.key(name)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *writer) uintField(name string, v uint64) {
	w.key(name)
	w.b = strconv.AppendUint(w.b, v, 10)
}

// strMap writes a map as encoding/json does: keys sorted bytewise, nil as
// null.
func (w *writer) strMap(m map[string]string) {
	if m == nil {
		w.null()
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.open('{')
	for _, k := range keys {
		w.strField(k, m[k])
	}
	w.close('}')
}

// float is encoding/json's float64 format (its floatEncoder): the shortest
// decimal that reads back as f, as %f unless the magnitude is below 1e-6
// or from 1e21 on, where it is %e with the exponent's leading zero dropped
// (1e-07 → 1e-7). encoding/json refuses NaN and ±Inf; none is ever made
// here (times, and a percentage of a non-zero total), but were one to be,
// the file says null rather than nothing.
func (w *writer) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.null()
		return
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	w.b = strconv.AppendFloat(w.b, f, format, -1, 64)
	if n := len(w.b); format == 'e' && n >= 4 && w.b[n-4] == 'e' && w.b[n-3] == '-' && w.b[n-2] == '0' {
		w.b[n-2] = w.b[n-1]
		w.b = w.b[:n-1]
	}
}

const hexDigits = "0123456789abcdef"

// str writes a quoted string as encoding/json does with its default HTML
// escaping: ", \ and \b \f \n \r \t by name, other control characters and
// <, >, & as \u00XX, U+2028 and U+2029 as \u2028 and \u2029 (JavaScript
// reads them as line ends), and each byte of invalid UTF-8 as \ufffd.
func (w *writer) str(s string) {
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			w.b = append(w.b, s[start:i]...)
			w.b = appendEscape(w.b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			w.b = append(w.b, s[start:i]...)
			if r == utf8.RuneError {
				w.b = append(w.b, `\ufffd`...)
			} else {
				w.b = append(w.b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			}
			start = i + size
		}
		i += size
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

// appendEscape escapes one ASCII byte that cannot stand as itself.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}
