// Package config turns the kernel command line into sandbox-init's typed,
// validated configuration. Parse is pure: it reads no files and touches no
// devices, so every rule here is tested on any machine and fuzzed.
package config

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Prefix marks the kernel parameters that belong to sandbox-init.
const Prefix = "sandbox."

// Failure actions: what PID 1 does when a phase fails.
const (
	OnFailShell    = "shell"
	OnFailReboot   = "reboot"
	OnFailPoweroff = "poweroff"
	OnFailHalt     = "halt"
)

// Size is an amount of memory given either in bytes or as a share of RAM.
type Size struct {
	Bytes   uint64 // used when Percent is 0
	Percent int    // 1..100: share of MemTotal
}

// Resolve turns s into bytes for a machine with memTotal bytes of RAM.
func (s Size) Resolve(memTotal uint64) uint64 {
	if s.Percent > 0 {
		return memTotal / 100 * uint64(s.Percent)
	}
	return s.Bytes
}

func (s Size) String() string {
	if s.Percent > 0 {
		return strconv.Itoa(s.Percent) + "%"
	}
	return FormatBytes(s.Bytes)
}

// Config is everything sandbox-init needs to know to build the sandbox.
type Config struct {
	// CD is the device that holds the root image: "auto" (sr*, then the
	// legacy hd? names), a /dev path, or LABEL=<iso9660 volume id>.
	CD string
	// Image is the path of the root image file on the CD.
	Image string
	// Origin, when set, is a block device used directly as the snapshot's
	// origin (the how-to's first half, /dev/sda1): no CD and no loop.
	Origin string
	// CDMount is where the CD's mount ends up inside the new root.
	CDMount string

	// COW is the copy-on-write store: "ram0" (brd), "zram", or a /dev path.
	COW string
	// COWSize sizes a RAM-backed COW store.
	COWSize Size
	// Chunk is the snapshot's chunk size in 512-byte sectors.
	Chunk uint32
	// Persistent selects the snapshot's P (true) or N (false) store.
	Persistent bool
	// Name is the device-mapper name of the snapshot (/dev/mapper/Name).
	Name string

	// FSType is the root image's file system, or "auto" to detect it.
	FSType string
	// Wait bounds how long to wait for the CD or origin device to appear.
	Wait time.Duration
	// Init is the real init, exec'd as PID 1 in the new root.
	Init string
	// OnFail is what to do when a phase fails (OnFail* constants).
	OnFail string
	// ZAlgo is zram's compression algorithm when COW is "zram".
	ZAlgo string
	// Watch is how often the watcher reads the snapshot's COW usage after
	// switch_root; 0 starts no watcher.
	Watch time.Duration
}

// Default returns the configuration used when the command line says nothing.
func Default() Config {
	return Config{
		CD:      "auto",
		Image:   "/initrd-ext2",
		CDMount: "/mnt2",
		COW:     "ram0",
		COWSize: Size{Percent: 50},
		Chunk:   32, // 16 KiB: see the README's benchmark
		Name:    "sandbox",
		FSType:  "auto",
		Wait:    10 * time.Second,
		Init:    "/sbin/init",
		OnFail:  OnFailShell,
		ZAlgo:   "lzo-rle",
		Watch:   time.Second,
	}
}

// MaxChunk is the largest chunk size accepted, in sectors (1 GiB). The kernel
// takes more, but a chunk that large copies a gigabyte on a one-byte write.
const MaxChunk = 1 << 21

// param describes one sandbox.* key: its default shown in help and errors,
// what it accepts, and how to store a value.
type param struct {
	key     string
	accepts string
	set     func(c *Config, v string) error
}

var params = []param{
	{"cd", "auto, a /dev path (/dev/sr0, /dev/hdc, /dev/sdb) or LABEL=<volume id>", func(c *Config, v string) error {
		if v == "auto" || strings.HasPrefix(v, "LABEL=") && len(v) > len("LABEL=") {
			c.CD = v
			return nil
		}
		if err := devPath(v); err != nil {
			return err
		}
		c.CD = v
		return nil
	}},
	{"image", "an absolute path on the CD, e.g. /initrd-ext2", func(c *Config, v string) error {
		p, err := absPath(v)
		if p == "/" {
			return errors.New("is the CD's root directory, not a file")
		}
		c.Image = p
		return err
	}},
	{"origin", "a /dev path of a block device used as the read-only base, e.g. /dev/sda1", func(c *Config, v string) error {
		c.Origin = v
		return devPath(v)
	}},
	{"cdmount", "an absolute directory path in the new root, e.g. /mnt2", func(c *Config, v string) error {
		p, err := absPath(v)
		if p == "/" {
			return errors.New("would hide the whole new root")
		}
		c.CDMount = p
		return err
	}},
	{"cow", "ram0, zram or a /dev path of a scratch block device", func(c *Config, v string) error {
		if v == "ram0" || v == "zram" {
			c.COW = v
			return nil
		}
		if err := devPath(v); err != nil {
			return err
		}
		c.COW = v
		return nil
	}},
	{"cowsize", "a size with a unit (512M, 2G, 65536K) or a share of RAM (1% to 100%)", func(c *Config, v string) error {
		s, err := ParseSize(v)
		c.COWSize = s
		return err
	}},
	{"chunk", "a power of two from 1 to 2097152 (sectors of 512 bytes)", func(c *Config, v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return errors.New("is not a whole number")
		}
		if n == 0 || n > MaxChunk || n&(n-1) != 0 {
			return errors.New("is not a power of two in range (the kernel needs a power of two)")
		}
		c.Chunk = uint32(n)
		return nil
	}},
	{"persistent", "N, P, 0, 1, no, yes, false or true", func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "n", "0", "no", "false":
			c.Persistent = false
		case "p", "1", "yes", "true":
			c.Persistent = true
		default:
			return errors.New("is not a yes/no value")
		}
		return nil
	}},
	{"name", "1 to 127 characters of a-z A-Z 0-9 _ . -", func(c *Config, v string) error {
		if len(v) == 0 || len(v) > 127 || v == "." || v == ".." {
			return errors.New("has a bad length")
		}
		for _, r := range v {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
				return fmt.Errorf("has the character %q", r)
			}
		}
		c.Name = v
		return nil
	}},
	{"fstype", "auto or a file system name such as ext2, ext4, squashfs", func(c *Config, v string) error {
		for _, r := range v {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				return fmt.Errorf("has the character %q", r)
			}
		}
		if v == "" || len(v) > 32 {
			return errors.New("has a bad length")
		}
		c.FSType = v
		return nil
	}},
	{"wait", "a duration from 0 to 10m: seconds (15) or with a unit (500ms, 2m)", func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err == nil && d > 10*time.Minute {
			err = errors.New("is out of range")
		}
		c.Wait = d
		return err
	}},
	{"init", "an absolute path in the new root, e.g. /sbin/init", func(c *Config, v string) error {
		p, err := absPath(v)
		c.Init = p
		return err
	}},
	{"onfail", "shell, reboot, poweroff or halt", func(c *Config, v string) error {
		switch v {
		case OnFailShell, OnFailReboot, OnFailPoweroff, OnFailHalt:
			c.OnFail = v
			return nil
		}
		return errors.New("is not an action")
	}},
	{"zalgo", "zram's compressor: lzo-rle, lzo, lz4, lz4hc, zstd, 842", func(c *Config, v string) error {
		switch v {
		case "lzo-rle", "lzo", "lz4", "lz4hc", "zstd", "842":
			c.ZAlgo = v
			return nil
		}
		return errors.New("is not a zram compressor")
	}},
	{"watch", "0 (no watcher) or how often to check the COW store's use: 1s, 250ms (10ms to 1h)", func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err == nil && d != 0 && (d < 10*time.Millisecond || d > time.Hour) {
			err = errors.New("is out of range")
		}
		c.Watch = d
		return err
	}},
}

// Keys lists the sandbox.* keys Parse accepts, with what each accepts, in
// the order of the README's table.
func Keys() [][2]string {
	out := make([][2]string, len(params))
	for i, p := range params {
		out[i] = [2]string{Prefix + p.key, p.accepts}
	}
	return out
}

// ParamError is a problem with one kernel parameter.
type ParamError struct {
	Key, Value string
	Problem    string
	Accepts    string
}

func (e *ParamError) Error() string {
	s := fmt.Sprintf("%s=%q %s", e.Key, strings.ToValidUTF8(clip(e.Value), "?"), e.Problem)
	if e.Accepts != "" {
		s += "; accepted: " + e.Accepts
	}
	return s
}

// Parse reads a kernel command line. It returns the configuration and, when
// anything is wrong, an error listing every bad parameter (errors.Join of
// *ParamError), so one boot shows the user all there is to fix.
func Parse(cmdline string) (Config, error) {
	c := Default()
	var errs []error
	seen := map[string]bool{}
	for _, w := range Fields(cmdline) {
		if w == "--" {
			break // what follows belongs to init
		}
		key, val, hasVal := strings.Cut(w, "=")
		if key == "init" && hasVal {
			// The kernel's own init= names the real init; sandbox.init wins.
			if !seen[Prefix+"init"] {
				p, err := absPath(val)
				if err == nil && !utf8.ValidString(val) {
					err = errors.New("is not valid UTF-8")
				}
				if err != nil {
					errs = append(errs, &ParamError{Key: key, Value: strings.ToValidUTF8(val, "?"), Problem: err.Error(), Accepts: "an absolute path"})
				} else {
					c.Init = p
				}
			}
			continue
		}
		if !strings.HasPrefix(key, Prefix) {
			continue
		}
		if !utf8.ValidString(w) {
			errs = append(errs, &ParamError{Key: strings.ToValidUTF8(key, "?"), Value: strings.ToValidUTF8(val, "?"), Problem: "is not valid UTF-8"})
			continue
		}
		p := lookup(strings.TrimPrefix(key, Prefix))
		if p == nil {
			errs = append(errs, &ParamError{Key: key, Value: val, Problem: "is not a sandbox-init parameter", Accepts: "sandbox." + keyList()})
			continue
		}
		if seen[key] {
			errs = append(errs, &ParamError{Key: key, Value: val, Problem: "is given twice; give each parameter once"})
			continue
		}
		seen[key] = true
		if !hasVal {
			errs = append(errs, &ParamError{Key: key, Problem: "has no value", Accepts: p.accepts})
			continue
		}
		if err := p.set(&c, val); err != nil {
			errs = append(errs, &ParamError{Key: key, Value: val, Problem: err.Error(), Accepts: p.accepts})
		}
	}
	if err := c.check(seen); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// check validates combinations that no single parameter can.
func (c *Config) check(seen map[string]bool) error {
	if c.Persistent && (c.COW == "ram0" || c.COW == "zram") {
		return &ParamError{Key: Prefix + "persistent", Value: "P", Problem: "needs a COW device that survives a reboot, not " + c.COW,
			Accepts: "sandbox.cow=/dev/<disk> with sandbox.persistent=P"}
	}
	if c.Origin != "" && (seen[Prefix+"cd"] || seen[Prefix+"image"]) {
		return &ParamError{Key: Prefix + "origin", Value: c.Origin, Problem: "takes the base from a block device, so sandbox.cd and sandbox.image would be ignored",
			Accepts: "either sandbox.origin or sandbox.cd/sandbox.image"}
	}
	if seen[Prefix+"zalgo"] && c.COW != "zram" {
		return &ParamError{Key: Prefix + "zalgo", Value: c.ZAlgo, Problem: "only applies to sandbox.cow=zram", Accepts: "sandbox.cow=zram with sandbox.zalgo"}
	}
	if c.Origin != "" && c.Origin == c.COW {
		return &ParamError{Key: Prefix + "cow", Value: c.COW, Problem: "is the origin device too", Accepts: "a different device"}
	}
	return nil
}

func lookup(key string) *param {
	for i := range params {
		if params[i].key == key {
			return &params[i]
		}
	}
	return nil
}

func keyList() string {
	ks := make([]string, len(params))
	for i, p := range params {
		ks[i] = p.key
	}
	return "{" + strings.Join(ks, ",") + "}"
}

// Fields splits a kernel command line the way the kernel does: on spaces,
// except inside double quotes, which are removed.
func Fields(s string) []string {
	var out []string
	var b strings.Builder
	in, quoted := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"':
			quoted = !quoted
			in = true
		case !quoted && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f'):
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(ch)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out
}

// ParseSize reads 512M, 2G, 65536K, 1048576 (bytes) or 50%.
func ParseSize(v string) (Size, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100 {
			return Size{}, errors.New("is not a percentage from 1% to 100%")
		}
		return Size{Percent: n}, nil
	}
	num := strings.TrimRight(v, "kKmMgGtTiBb")
	unit := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(v[len(num):], "B"), "i"))
	mult := map[string]uint64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit]
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || mult == 0 {
		return Size{}, errors.New("is not a size")
	}
	if n > (1<<50)/mult {
		return Size{}, errors.New("is too large")
	}
	if n*mult < 1<<20 {
		return Size{}, errors.New("is smaller than 1M")
	}
	return Size{Bytes: n * mult}, nil
}

// FormatBytes prints a byte count in the largest binary unit that divides it.
func FormatBytes(b uint64) string {
	for _, u := range []struct {
		s string
		n uint64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if b >= u.n && b%u.n == 0 {
			return strconv.FormatUint(b/u.n, 10) + u.s
		}
	}
	return strconv.FormatUint(b, 10)
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseUint(v, 10, 32)
		if nerr != nil {
			return 0, errors.New("is not a duration")
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > time.Hour {
		return 0, errors.New("is out of range")
	}
	return d, nil
}

func absPath(v string) (string, error) {
	if !strings.HasPrefix(v, "/") {
		return "", errors.New("is not an absolute path")
	}
	if strings.ContainsRune(v, 0) {
		return "", errors.New("has a NUL byte")
	}
	return path.Clean(v), nil
}

func devPath(v string) error {
	p, err := absPath(v)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(p, "/dev/") || p != v {
		return errors.New("is not a clean path under /dev/")
	}
	return nil
}

// clip keeps error messages readable when a value is huge.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// MemTotal reads MemTotal, in bytes, from the text of /proc/meminfo.
func MemTotal(meminfo string) (uint64, error) {
	for _, line := range strings.Split(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("MemTotal %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no MemTotal line in /proc/meminfo")
}

// Params renders c as the sandbox.* parameters that Parse turns back into
// c: what the state file shows, and a round trip the fuzzer checks. Keys
// that would conflict (sandbox.zalgo without zram, sandbox.cd and
// sandbox.image with sandbox.origin) are left out when unused.
func (c Config) Params() map[string]string {
	p := map[string]string{
		"cdmount": c.CDMount, "cow": c.COW, "cowsize": c.COWSize.String(),
		"chunk": strconv.FormatUint(uint64(c.Chunk), 10), "persistent": "N", "name": c.Name,
		"fstype": c.FSType, "wait": c.Wait.String(), "init": c.Init, "onfail": c.OnFail, "watch": c.Watch.String(),
	}
	if c.Persistent {
		p["persistent"] = "P"
	}
	if c.Origin != "" {
		p["origin"] = c.Origin
	} else {
		p["cd"], p["image"] = c.CD, c.Image
	}
	if c.COW == "zram" {
		p["zalgo"] = c.ZAlgo
	}
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[Prefix+k] = v
	}
	return out
}

// CommandLine renders Params as kernel parameters, sorted.
func (c Config) CommandLine() string {
	p := c.Params()
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := p[k]
		if strings.ContainsAny(v, " \t\"") {
			v = `"` + v + `"`
		}
		b.WriteString(k + "=" + v)
	}
	return b.String()
}
