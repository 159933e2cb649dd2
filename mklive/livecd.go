package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
)

// LiveCDSpec is everything a Live CD needs.
type LiveCDSpec struct {
	Kernel Kernel
	Init   string // the static sandbox-init binary
	Root   string // a directory (made into an image) or an image file
	FSType string // for a directory: ext2 (default; ext4 in a container) or ext4
	Size   uint64 // for a directory: image size in bytes, 0 to compute it
	Label  string // ISO volume label
	// UUID is the ISO's per-build identity, its volume date as blkid
	// shows it (ISOUUID): the CD is found by it (sandbox.cd=UUID=...).
	// Default: SOURCE_DATE_EPOCH when set (reproducible builds), else
	// the current time.
	UUID   string
	Append string // extra kernel parameters
	// Container is how the root image goes on the CD: "zstd" or "xz", a
	// sparse ext4 image of generous size (ContainerImageSize) in a
	// squashfs so compressed, at /LiveOS/squashfs.img; "" or "none", the
	// image as it is at /initrd-ext2. mklive's command line defaults to
	// zstd.
	Container   string
	Extra       []string // extra required modules
	RescueShell string   // static busybox for the rescue shell, optional
	Compression string   // of the initramfs: zstd (default), xz, gzip
	Out         string   // the ISO
	Log         func(format string, args ...any)
}

// LiveCD builds the initramfs, the root image (when Root is a directory),
// its container, and the ISO, and logs each step with its sizes and time.
func LiveCD(s LiveCDSpec) error {
	if s.Log == nil {
		s.Log = func(string, ...any) {}
	}
	if s.Label == "" {
		s.Label = "SANDBOX"
	}
	if err := CheckContainer(s.Container); err != nil {
		return err
	}
	container := s.Container != "" && s.Container != "none"
	// The CD's kernel command line is its configuration: check it now,
	// not at boot, and take the modules it needs.
	if s.UUID == "" {
		t := time.Now()
		if sde := os.Getenv("SOURCE_DATE_EPOCH"); sde != "" {
			sec, err := strconv.ParseInt(sde, 10, 64)
			if err != nil {
				return fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", sde)
			}
			t = time.Unix(sec, 0)
		}
		s.UUID = ISOUUID(t)
	}
	cmdline, imagePath, cfg, err := LiveCDCmdline("UUID="+s.UUID, s.Container, s.Append)
	if err != nil {
		return err
	}
	st, err := os.Stat(s.Root)
	if err != nil {
		return fmt.Errorf("root %s: %w", s.Root, err)
	}
	if container {
		if err := checkSquashfs(s.Kernel, s.Container); err != nil {
			return err
		}
		if _, err := Need("mksquashfs"); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp(filepath.Dir(s.Out), ".mklive-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	d, err := s.Kernel.Deps()
	if err != nil {
		return err
	}
	req, opt := ConfiguredModules(d, cfg)
	if container {
		req = append(req, ContainerModules(d, s.Container)...)
	}
	start := time.Now()
	rep, err := BuildInitramfs(InitramfsSpec{Init: s.Init, Kernel: s.Kernel, Required: append(req, s.Extra...), Optional: opt,
		Shell: s.RescueShell, Compression: s.Compression, Out: filepath.Join(work, "initrd.img")})
	if err != nil {
		return err
	}
	s.Log("initramfs: %s compressed (%s), %s unpacked, kernel %s, %d modules, %s: %s", config.HumanBytes(uint64(rep.Compressed)), compression(s.Compression), config.HumanBytes(uint64(rep.Unpacked)), s.Kernel.Version, len(rep.Modules), Took(start), strings.Join(rep.Modules, " "))
	img := s.Root
	if st.IsDir() {
		b, inodes, err := TreeSize(s.Root)
		if err != nil {
			return fmt.Errorf("root tree %s: %w", s.Root, err)
		}
		s.Log("root tree %s: %s in %d files and directories", s.Root, config.HumanBytes(b), inodes)
		img = filepath.Join(work, "initrd-ext2")
		fstype := s.FSType
		if fstype == "" {
			fstype = map[bool]string{true: "ext4", false: "ext2"}[container]
		}
		size := s.Size
		switch {
		case size == 0 && container:
			size = ContainerImageSize(b, COWBytes(cfg))
		case size == 0:
			size = ImageSize(b, inodes)
		}
		if container {
			img = filepath.Join(work, "rootfs.img")
		}
		spec := RootImageSpec{Tree: s.Root, Out: img, FSType: fstype, Size: size, Container: container, COW: COWBytes(cfg), Log: s.Log}
		s.Log("root image: %s, %s%s, from %s ...", fstype, humanSize(size), map[bool]string{true: " sparse"}[container], s.Root)
		start := time.Now()
		if _, err := buildRootImage(spec, b, inodes); err != nil {
			return err
		}
		s.Log("root image: %s, %s", fstype, imageFacts(img, Took(start)))
	} else {
		s.Log("root image: %s as it is, %s", s.Root, imageFacts(img, ""))
	}
	if free, err := ImageFree(img); err == nil {
		msg, _ := roomToWrite(free, cfg)
		s.Log("%s", msg)
	}
	onCD := img
	if container {
		onCD = filepath.Join(work, "squashfs.img")
		s.Log("squashfs (%s): packing the root image as %s ...", s.Container, ContainerImage)
		start := time.Now()
		n, err := BuildSquashfs(SquashfsSpec{Image: img, Out: onCD, Compression: s.Container, Log: s.Log})
		if err != nil {
			return err
		}
		s.Log("squashfs (%s): %s, %s", s.Container, config.HumanBytes(n), Took(start))
		// The image is in the squashfs now: its disk space (the tree's
		// size, with a default container) is not needed for the ISO.
		if img != s.Root {
			os.Remove(img)
		}
	}
	start = time.Now()
	if err := BuildISO(ISOSpec{Kernel: s.Kernel.Vmlinuz(), Initramfs: rep.Path, RootImage: onCD, ImagePath: imagePath, Label: s.Label, UUID: s.UUID, Cmdline: cmdline, Out: s.Out, Log: s.Log}); err != nil {
		return err
	}
	if st, err := os.Stat(s.Out); err == nil {
		s.Log("ISO %s: %s, %s, label %s, UUID %s, kernel command line: %s", s.Out, config.HumanBytes(uint64(st.Size())), Took(start), s.Label, s.UUID, cmdline)
	}
	return nil
}

// LiveCmdline is LiveCDCmdline for a CD found by its label.
func LiveCmdline(label, container, extra string) (cmdline, imagePath string, cfg config.Config, err error) {
	return LiveCDCmdline("LABEL="+label, container, extra)
}

// LiveCDCmdline is a Live CD's kernel command line for how it is found
// (sandbox.cd: UUID=<its UUID>, as LiveCD does, or LABEL=<its label>), its
// container (see LiveCDSpec) and the extra parameters: with a container,
// sandbox.image names it. It returns the command line, where the root image
// (or its container) goes on the CD, and the configuration the command
// line gives the boot, checked as the boot checks it.
func LiveCDCmdline(cd, container, extra string) (cmdline, imagePath string, cfg config.Config, err error) {
	if err := CheckContainer(container); err != nil {
		return "", "", cfg, err
	}
	cmdline = "console=tty0 console=ttyS0 sandbox.cd=" + cd
	imagePath = PlainImagePath
	if container != "" && container != "none" {
		imagePath = ContainerPath
		cmdline += " sandbox.image=" + ContainerPath
	}
	for _, w := range config.Fields(extra) {
		if w == "--" {
			break
		}
		if v, ok := strings.CutPrefix(w, "sandbox.image="); ok && v != imagePath {
			return "", "", cfg, fmt.Errorf("-append says sandbox.image=%s, but mklive puts the root image at %s: leave sandbox.image out of -append", v, imagePath)
		}
	}
	cmdline = strings.TrimSpace(cmdline + " " + extra)
	cfg, err = config.Parse(cmdline)
	if err != nil {
		return "", "", cfg, fmt.Errorf("the kernel command line %q: %w", cmdline, err)
	}
	if cfg.Image != imagePath {
		return "", "", cfg, fmt.Errorf("the kernel command line %q says sandbox.image=%s, but mklive puts the root image at %s: leave sandbox.image out of -append", cmdline, cfg.Image, imagePath)
	}
	return cmdline, imagePath, cfg, nil
}

// imageFacts describes an image file for the log: "4.0 GiB apparent,
// 265 MiB used, 12.3 s".
func imageFacts(path, took string) string {
	apparent, used, err := ImageUsage(path)
	if err != nil {
		return err.Error()
	}
	msg := fmt.Sprintf("%s apparent, %s used", humanSize(apparent), humanSize(used))
	if took != "" {
		msg += ", " + took
	}
	return msg
}

// roomToWrite says how much the live system can write in / for the COW
// store the configuration asks for; ok is false when / fills before the
// COW store does ("No space left on device" with the COW store half
// empty).
func roomToWrite(free uint64, cfg config.Config) (msg string, ok bool) {
	cow := COWBytes(cfg)
	switch {
	case cow > 0 && free < cow:
		return fmt.Sprintf("warning: / has %s free, less than the %s COW store: writes fail with \"No space left on device\" before the COW store is full (a larger -size makes room; so does a container, whose image mklive sizes for the COW store)", humanSize(free), humanSize(cow)), false
	case cow > 0:
		return fmt.Sprintf("room to write: %s free in /, for a %s COW store", humanSize(free), humanSize(cow)), true
	case (cfg.COW == "ram0" || cfg.COW == "zram") && cfg.COWSize.Percent > 0:
		return fmt.Sprintf("room to write: %s free in /, as much as a sandbox.cowsize=%d%% COW store on up to %s of RAM", humanSize(free), cfg.COWSize.Percent, humanSize(free/uint64(cfg.COWSize.Percent)*100)), true
	}
	return fmt.Sprintf("room to write: %s free in /", humanSize(free)), true
}

// DemoTree lays out the demo root: busybox, DemoInit as /sbin/init and the
// sandbox-init binary as /bin/sandbox-init, the status tool.
func DemoTree(dir, initBin string) error {
	b, err := os.ReadFile(initBin)
	if err != nil {
		return err
	}
	os.RemoveAll(dir)
	return BusyboxTree(dir, "", map[string]string{"sbin/init": DemoInit, "bin/sandbox-init": string(b)})
}

func compression(c string) string {
	if c == "" {
		return "zstd"
	}
	return c
}
