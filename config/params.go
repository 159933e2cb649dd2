package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

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

// ZramAlgorithms are the compressors sandbox.zalgo takes: zram's, each
// from the crypto module of the same name on a modular kernel
// (modpolicy).
var ZramAlgorithms = []string{"lzo-rle", "lzo", "lz4", "lz4hc", "zstd", "842"}

// params is the table of sandbox.* keys, in the README's order. Each setter
// checks one value; combinations are Config.check's.
var params = []param{
	{"cd", "auto, a /dev path (/dev/sr0, /dev/hdc, /dev/sdb), LABEL=<volume id> or UUID=<ISO 9660 UUID as blkid shows it, e.g. 2026-11-26-02-55-00-00>", setCD},
	{"image", "an absolute path on the CD, e.g. /initrd-ext2", func(c *Config, v string) error {
		return setAbs(&c.Image, v, "is the CD's root directory, not a file")
	}},
	{"origin", "a /dev path of a block device used as the read-only base, e.g. /dev/sda1", func(c *Config, v string) error {
		if err := devPath(v); err != nil {
			return err
		}
		c.Origin = Path(v)
		return nil
	}},
	{"iso", "a Live CD's ISO file on a disk: /path/file.iso (every disk searched), LABEL=<label>:/path/file.iso, UUID=<uuid>:/path/file.iso or /dev/sdb1:/path/file.iso", setISO},
	{"grow", "no, auto (grow an ext2/3/4 root at boot until its free space is the COW store's size) or a size to grow it to (4G)", func(c *Config, v string) error {
		g, ok := parseGrow(v)
		if !ok {
			return errors.New("is not no, auto or a size")
		}
		c.Grow = g
		return nil
	}},
	{"toram", "no, yes (copy the image into RAM, then release the medium) or auto (yes when RAM holds the image, the COW store and 512 MiB more)", func(c *Config, v string) error {
		t, ok := parseTristate(v)
		if !ok {
			return errors.New("is not no, yes or auto")
		}
		c.ToRAM = t
		return nil
	}},
	{"cdmount", "an absolute directory path in the new root, e.g. /mnt2", func(c *Config, v string) error {
		return setAbs(&c.CDMount, v, "would hide the whole new root")
	}},
	{"cow", "ram0, zram or a /dev path of a scratch block device", func(c *Config, v string) error {
		s, err := parseCOW(v)
		c.COW = s
		return err
	}},
	{"cowsize", "a size with a unit (512M, 2G, 65536K) or a share of RAM (1% to 100%)", func(c *Config, v string) error {
		s, err := ParseSize(v)
		c.COWSize = s
		return err
	}},
	{"chunk", "auto (the root file system's block size) or a power of two from 1 to 2097152 (sectors of 512 bytes)", setChunk},
	{"persistent", "N, P, 0, 1, no, yes, false or true", setPersistent},
	{"store", "PO (a full COW store refuses new writes, the sandbox lives on) or N (the how-to's: a full store invalidates the snapshot)", setStore},
	{"name", "1 to 120 characters of a-z A-Z 0-9 _ . - (NAME-verity and NAME-base name the devices under it)", setName},
	{"fstype", "auto or a file system name such as ext2, ext4, squashfs", setFSType},
	{"wait", "a duration from 0 to 10m: seconds (15) or with a unit (500ms, 2m)", func(c *Config, v string) error {
		return setDuration(&c.Wait, v, func(d time.Duration) bool { return d <= 10*time.Minute })
	}},
	{"init", "an absolute path in the new root, e.g. /sbin/init", func(c *Config, v string) error {
		return setAbs(&c.Init, v, "")
	}},
	{"onfail", "shell, reboot, poweroff or halt", func(c *Config, v string) error {
		return setOneOf(&c.OnFail, v, "is not an action", OnFailShell, OnFailReboot, OnFailPoweroff, OnFailHalt)
	}},
	{"zalgo", "zram's compressor: lzo-rle, lzo, lz4, lz4hc, zstd, 842", func(c *Config, v string) error {
		return setOneOf(&c.ZAlgo, v, "is not a zram compressor", ZramAlgorithms...)
	}},
	{"verity", "off or the root hash (hex) of the image's dm-verity hash tree, IMAGE.verity on the CD: every block read from the image is checked against it", func(c *Config, v string) error {
		if v == "off" {
			c.Verity = ""
			return nil
		}
		b, err := hex.DecodeString(v)
		if err != nil || len(b) < 16 || len(b) > 64 {
			return errors.New("is not off or a root hash of 32 to 128 hex digits")
		}
		c.Verity = strings.ToLower(v)
		return nil
	}},
	{"oncorrupt", "error (a corrupted block's read fails), restart or panic (the kernel reboots or panics at once: for unattended machines)", func(c *Config, v string) error {
		return setOneOf(&c.OnCorrupt, v, "is not error, restart or panic", "error", "restart", "panic")
	}},
	{"watch", "0 (no watcher) or how often to check the COW store's use: 1s, 250ms (10ms to 1h)", func(c *Config, v string) error {
		return setDuration(&c.Watch, v, func(d time.Duration) bool { return d == 0 || d >= 10*time.Millisecond && d <= time.Hour })
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

// setCD takes sandbox.cd: any device reference, but a UUID only as an ISO
// 9660 volume has one.
func setCD(c *Config, v string) error {
	if u, ok := strings.CutPrefix(v, "UUID="); ok && !ISOUUID(u) {
		return errors.New("has a UUID that is not an ISO 9660 one as blkid shows it (YYYY-MM-DD-hh-mm-ss-cc, e.g. 2026-11-26-02-55-00-00)")
	}
	if v == "LABEL=" {
		return devPath(v) // as before device references had a type
	}
	r, err := ParseDevRef(v)
	c.CD = r
	return err
}

// setAbs stores an absolute path, cleaned. rootProblem, when not empty,
// refuses "/" with that reason: a key whose path must name something below
// the root.
func setAbs(dst *string, v, rootProblem string) error {
	p, err := absPath(v)
	if rootProblem != "" && p == "/" {
		return errors.New(rootProblem)
	}
	*dst = p
	return err
}

// setDuration stores a duration that parseDuration reads and inRange
// accepts. A refused value is stored all the same, as before the setters
// shared this: the init uses nothing but OnFail of a Config that comes with
// an error.
func setDuration(dst *time.Duration, v string, inRange func(time.Duration) bool) error {
	d, err := parseDuration(v)
	if err == nil && !inRange(d) {
		err = errors.New("is out of range")
	}
	*dst = d
	return err
}

// setOneOf stores v if it is one of choices, else refuses it with problem.
func setOneOf(dst *string, v, problem string, choices ...string) error {
	if !slices.Contains(choices, v) {
		return errors.New(problem)
	}
	*dst = v
	return nil
}

func setISO(c *Config, v string) error {
	dev, file := splitISO(v)
	c.ISO = ISORef{File: file}
	if dev != "" {
		r, err := ParseDevRef(dev)
		switch {
		case err == errEmptyRef:
			return err
		case err != nil || r.Kind == RefAuto:
			return fmt.Errorf("names no device before ':' (%s)", devPath(dev))
		}
		c.ISO.Dev = r
	}
	p, err := absPath(file)
	if err != nil {
		return fmt.Errorf("has a file part that %s", err)
	}
	if p != file || p == "/" || strings.Contains(file, ":") {
		return errors.New("has a file part that is not a clean path to a file")
	}
	return nil
}

func setChunk(c *Config, v string) error {
	if v == "auto" {
		c.Chunk = 0
		return nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return errors.New("is not a whole number")
	}
	if n == 0 || n > MaxChunk || n&(n-1) != 0 {
		return errors.New("is not a power of two in range (the kernel needs a power of two)")
	}
	c.Chunk = uint32(n)
	return nil
}

func setPersistent(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "n", "0", "no", "false":
		c.Persistent = false
	case "p", "1", "yes", "true":
		c.Persistent = true
	default:
		return errors.New("is not a yes/no value")
	}
	return nil
}

func setStore(c *Config, v string) error {
	t, ok := parseStore(v)
	if !ok {
		return errors.New("is not a snapshot store")
	}
	c.Store = t
	return nil
}

// setName takes a device-mapper name: one that is also a file name under
// /dev/mapper.
func setName(c *Config, v string) error {
	if len(v) == 0 || len(v) > 120 || v == "." || v == ".." {
		return errors.New("has a bad length")
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fmt.Errorf("has the character %q", r)
		}
	}
	c.Name = v
	return nil
}

// setFSType takes a name as /proc/filesystems and mount(2) spell them.
func setFSType(c *Config, v string) error {
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
}

// parseDuration reads a Go duration or, as people type at a boot prompt, a
// bare number of seconds; at most an hour.
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

// devPath accepts only a clean path under /dev/: the init opens it as a
// block device, so ../ must not lead it elsewhere.
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

// ISOUUID reports whether u is an ISO 9660 volume's UUID as blkid shows it:
// the volume date YYYY-MM-DD-hh-mm-ss-cc, 16 digits in 7 groups.
func ISOUUID(u string) bool {
	if len(u) != 22 {
		return false
	}
	for i := 0; i < len(u); i++ {
		if i == 4 || i == 7 || i > 7 && (i-7)%3 == 0 {
			if u[i] != '-' {
				return false
			}
		} else if u[i] < '0' || u[i] > '9' {
			return false
		}
	}
	return true
}
