// Package config turns the kernel command line into sandbox-init's typed,
// validated configuration. Parse is pure: it reads no files and touches no
// devices, so every rule here is tested on any machine and fuzzed.
//
// The package is laid out by concern: this file has the Config, its
// defaults and Parse; params.go the table of sandbox.* keys and how each
// value is checked; size.go sizes and byte counts; render.go the way back
// from a Config to a command line; modules.go the module.param= words of
// a command line; devref.go and types.go the typed values (device
// references, the COW store, no/yes/auto, the grow policy). Which kernel
// modules a Config needs is package modpolicy's.
package config

import (
	"errors"
	"fmt"
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

// Config is everything sandbox-init needs to know to build the sandbox.
type Config struct {
	// CD is the device that holds the root image: auto (sr*, then the
	// legacy hd? names, then disks), a /dev path, LABEL=<iso9660 volume
	// id> or UUID=<its UUID>.
	CD DevRef
	// Image is the path of the root image file on the CD.
	Image string
	// Origin, when set, is a block device used directly as the snapshot's
	// origin (the how-to's first half, /dev/sda1): no CD and no loop. A
	// path or nothing.
	Origin DevRef
	// CDMount is where the CD's mount ends up inside the new root.
	CDMount string
	// ISO, when set, is a Live CD's ISO file kept on a disk, which takes
	// the CD's place: "[LABEL=X:|UUID=Y:|/dev/X:]/path/file.iso" (without a
	// device, every disk and partition is searched).
	ISO ISORef
	// Grow gives an ext2/3/4 root image room: no, auto (grow the file
	// system at boot until its free space is the COW store's size) or a
	// size the file system grows to. The base is not touched: it grows on
	// a larger device made of the origin and zeros, under the snapshot.
	Grow Grow
	// ToRAM copies the root image (or its container) into RAM before the
	// snapshot, so the medium can go: no, yes or auto.
	ToRAM Tristate

	// COW is the copy-on-write store: ram0 (brd), zram, or a /dev path.
	COW COWStore
	// COWSize sizes a RAM-backed COW store.
	COWSize Size
	// Chunk is the snapshot's chunk size in 512-byte sectors; 0 is
	// "auto": the root file system's block size, chosen at boot (a write
	// that covers a whole chunk never reads the medium, so a damaged block
	// of it cannot invalidate the snapshot).
	Chunk uint32
	// Persistent keeps the changes across boots on a disk COW store (the
	// snapshot's P store, its header kept); otherwise every boot starts
	// with an empty store.
	Persistent bool
	// Store is the snapshot's exception store: PO (persistent format
	// with overflow: a full COW store refuses new writes and the rest
	// stays readable) or N (the how-to's: a full store invalidates the
	// snapshot and every read of / fails).
	Store StoreType
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
	// Verity is the root hash, in hex, of the image's dm-verity hash tree
	// (the image's path with ".verity" on the CD); "" for no checking.
	Verity string
	// OnCorrupt is what a block that fails verity's check does: "error"
	// (its read fails), "restart" or "panic".
	OnCorrupt string
	// Watch is how often the watcher reads the snapshot's COW usage after
	// switch_root; 0 starts no watcher.
	Watch time.Duration

	// URL is the image's (or container's) http:// URL, or several
	// separated by commas (mirrors in order): a network boot (net.go).
	URL string
	// Net narrows the links tried: "" or "auto" for every Ethernet link,
	// an interface name or a MAC address.
	Net string
	// NetWait is the download's whole budget; 0 for DefaultNetWait.
	NetWait time.Duration
	// KernelIP is the kernel's ip= (ParseIP reads it), BootIF the MAC
	// of PXELINUX's BOOTIF=: not sandbox.* keys, so not rendered.
	KernelIP, BootIF string
}

// Default returns the configuration used when the command line says nothing.
func Default() Config {
	return Config{
		CD:        Auto,
		Image:     "/initrd-ext2",
		CDMount:   "/mnt2",
		COW:       COWRAM,
		COWSize:   Size{Percent: 50},
		Chunk:     0, // auto: see Chunk
		Store:     StorePO,
		ToRAM:     No,
		Grow:      Grow{},
		Name:      "sandbox",
		FSType:    "auto",
		Wait:      10 * time.Second,
		Init:      "/sbin/init",
		OnFail:    OnFailShell,
		ZAlgo:     "lzo-rle",
		Watch:     time.Second,
		OnCorrupt: "error",
	}
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

// clip keeps error messages readable when a value is huge.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
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
		switch {
		case key == "init" && hasVal:
			// The kernel's own init= names the real init; sandbox.init wins.
			if !seen[Prefix+"init"] {
				errs = appendErr(errs, c.setKernelInit(val))
			}
		case strings.HasPrefix(key, Prefix):
			errs = appendErr(errs, c.set(w, seen))
		case (key == "ip" || key == "BOOTIF") && hasVal:
			errs = appendErr(errs, c.setKernelNet(key, val))
		}
	}
	if err := c.check(seen); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// appendErr appends err unless it is nil, so that Parse's error is nil when
// nothing went wrong.
func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

// setKernelInit takes the kernel's init=VAL as the real init.
func (c *Config) setKernelInit(val string) error {
	p, err := absPath(val)
	if err == nil && !utf8.ValidString(val) {
		err = errors.New("is not valid UTF-8")
	}
	if err != nil {
		return &ParamError{Key: "init", Value: strings.ToValidUTF8(val, "?"), Problem: err.Error(), Accepts: "an absolute path"}
	}
	c.Init = p
	return nil
}

// set applies one sandbox.KEY=VALUE word, recording KEY in seen so that a
// key given twice is an error and check sees what was given.
func (c *Config) set(w string, seen map[string]bool) error {
	key, val, hasVal := strings.Cut(w, "=")
	if !utf8.ValidString(w) {
		return &ParamError{Key: strings.ToValidUTF8(key, "?"), Value: strings.ToValidUTF8(val, "?"), Problem: "is not valid UTF-8"}
	}
	p := lookup(strings.TrimPrefix(key, Prefix))
	if p == nil {
		return &ParamError{Key: key, Value: val, Problem: "is not a sandbox-init parameter", Accepts: "sandbox." + keyList()}
	}
	if seen[key] {
		return &ParamError{Key: key, Value: val, Problem: "is given twice; give each parameter once"}
	}
	seen[key] = true
	if !hasVal {
		return &ParamError{Key: key, Problem: "has no value", Accepts: p.accepts}
	}
	if err := p.set(c, val); err != nil {
		return &ParamError{Key: key, Value: val, Problem: err.Error(), Accepts: p.accepts}
	}
	return nil
}

// check validates combinations that no single parameter can.
func (c *Config) check(seen map[string]bool) error {
	if err := c.checkNet(seen); err != nil {
		return err
	}
	if c.Persistent && c.COW.InRAM() {
		return &ParamError{Key: Prefix + "persistent", Value: "P", Problem: "needs a COW device that survives a reboot, not " + c.COW.String(),
			Accepts: "sandbox.cow=/dev/<disk> with sandbox.persistent=P"}
	}
	if c.Persistent && c.Store == StoreN {
		return &ParamError{Key: Prefix + "store", Value: c.Store.String(), Problem: "keeps nothing on the COW device, so sandbox.persistent=P cannot work",
			Accepts: "sandbox.store=PO (the default) with sandbox.persistent=P"}
	}
	if !c.ISO.IsZero() && (!c.Origin.IsZero() || seen[Prefix+"cd"]) {
		return &ParamError{Key: Prefix + "iso", Value: c.ISO.String(), Problem: "takes the CD's place, so sandbox.cd and sandbox.origin cannot be given with it",
			Accepts: "sandbox.iso= alone, or sandbox.cd=, or sandbox.origin="}
	}
	if c.ToRAM != No && !c.Origin.IsZero() {
		return &ParamError{Key: Prefix + "toram", Value: c.ToRAM.String(), Problem: "copies the CD's image, and sandbox.origin has none",
			Accepts: "sandbox.toram=no with sandbox.origin"}
	}
	if !c.Origin.IsZero() && (seen[Prefix+"cd"] || seen[Prefix+"image"]) {
		return &ParamError{Key: Prefix + "origin", Value: c.Origin.String(), Problem: "takes the base from a block device, so sandbox.cd and sandbox.image would be ignored",
			Accepts: "either sandbox.origin or sandbox.cd/sandbox.image"}
	}
	if seen[Prefix+"zalgo"] && c.COW != COWZRAM {
		return &ParamError{Key: Prefix + "zalgo", Value: c.ZAlgo, Problem: "only applies to sandbox.cow=zram", Accepts: "sandbox.cow=zram with sandbox.zalgo"}
	}
	if c.Verity != "" && !c.Origin.IsZero() {
		return &ParamError{Key: Prefix + "verity", Value: c.Verity, Problem: "checks an image file against its hash tree beside it, and sandbox.origin is a block device",
			Accepts: "sandbox.verity with sandbox.cd or sandbox.iso"}
	}
	if seen[Prefix+"oncorrupt"] && c.Verity == "" {
		return &ParamError{Key: Prefix + "oncorrupt", Value: c.OnCorrupt, Problem: "only applies with sandbox.verity", Accepts: "sandbox.verity=<root hash> with sandbox.oncorrupt"}
	}
	if c.Origin.IsPath() && c.COW == DiskCOW(c.Origin.Value) {
		return &ParamError{Key: Prefix + "cow", Value: c.COW.String(), Problem: "is the origin device too", Accepts: "a different device"}
	}
	return nil
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
