package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/modpolicy"
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
	Container string
	// NoVerity leaves out the dm-verity hash tree (IMAGE.verity beside
	// the image or container on the CD) and sandbox.verity=ROOT on the
	// command line, with which sandbox-init checks every block it reads
	// of the image. Every Live CD has them by default.
	NoVerity    bool
	Extra       []string // extra required modules
	RescueShell string   // static busybox for the rescue shell, optional
	Compression string   // of the initramfs: zstd (default), xz, gzip
	CA          string   // PEM CA bundle for https:// (InitramfsSpec.CA; Init built with TLSTag)
	// SecureBoot is how the ISO boots on UEFI: "auto" (the default):
	// through Debian's signed shim and GRUB when the kernel image is
	// signed and both are found below SignedRoots, else an unsigned
	// GRUB; "yes": signed or fail; "no": unsigned.
	SecureBoot string
	// SignedRoots are where shim-signed and grub-efi-amd64-signed are
	// installed or unpacked (dpkg -x), searched in turn; default: "/".
	SignedRoots []string
	// UKI makes the UEFI boot a unified kernel image (kernel, initramfs,
	// command line with the root hash, os-release) signed with the db
	// key in Keys, booted by the firmware with no GRUB; SecureBoot and
	// SignedRoots are then unused. BIOS still boots isolinux.
	UKI bool
	// Keys is the directory of the signing keys (SigningKeys): the
	// user's db.key and db.crt, or mklive makes a new set there.
	Keys string
	Out  string // the ISO
	Log  func(format string, args ...any)
}

// LiveCD builds the initramfs, the root image (when Root is a directory),
// its container, and the ISO, and logs each step with its sizes and time.
func LiveCD(s LiveCDSpec) error {
	b, parts, err := buildParts(s, "", filepath.Dir(s.Out))
	defer os.RemoveAll(b.work)
	if err != nil {
		return err
	}
	return b.iso(parts.initrd, parts.image, parts.tree)
}

// liveParts are the files a Live CD and a netboot tree are made of, built
// in the build's scratch directory.
type liveParts struct {
	initrd, image, tree string // tree: "" without verity
}

// buildParts plans the build of s (for a netboot tree when url is its
// base URL, else for a CD) and builds its initramfs, its root image or
// container and its hash tree in a scratch directory in workIn, which the
// caller removes (b.work).
func buildParts(s LiveCDSpec, url, workIn string) (*liveCDBuild, liveParts, error) {
	var p liveParts
	s.setDefaults()
	if err := CheckContainer(s.Container); err != nil {
		return &liveCDBuild{}, p, err
	}
	b, err := s.plan(url)
	if err != nil {
		return &liveCDBuild{}, p, err
	}
	if b.work, err = os.MkdirTemp(workIn, ".mklive-"); err != nil {
		return b, p, err
	}
	if p.initrd, err = b.initramfs(); err != nil {
		return b, p, err
	}
	img, err := b.rootImage()
	if err != nil {
		return b, p, err
	}
	b.logRoomToWrite(img)
	if p.image, err = b.containerImage(img); err != nil {
		return b, p, err
	}
	p.tree, err = b.verityTree(p.image)
	return b, p, err
}

// liveCDBuild is a LiveCD build under way: the spec with its defaults, and
// what its kernel command line and root say.
type liveCDBuild struct {
	s         LiveCDSpec
	container bool          // the root image goes in a squashfs
	cmdline   string        // the CD's kernel command line
	imagePath string        // where the root image (or its container) goes on the CD
	cfg       config.Config // the configuration the command line gives the boot
	root      os.FileInfo   // s.Root
	efi       SignedLoaders // the signed UEFI loaders; unset: unsigned GRUB
	keys      SigningKeys   // with s.UKI: what signs the unified kernel image
	work      string        // the build's scratch directory, beside s.Out
	url       string        // a netboot tree's base URL; "": a CD
}

// setDefaults fills in the spec's default log (none) and label.
func (s *LiveCDSpec) setDefaults() {
	if s.Log == nil {
		s.Log = func(string, ...any) {}
	}
	if s.Label == "" {
		s.Label = "SANDBOX"
	}
}

// liveCDUUID is the default UUID: SOURCE_DATE_EPOCH when set, else now.
func liveCDUUID() (string, error) {
	t := time.Now()
	if sde := os.Getenv("SOURCE_DATE_EPOCH"); sde != "" {
		sec, err := strconv.ParseInt(sde, 10, 64)
		if err != nil {
			return "", fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", sde)
		}
		t = time.Unix(sec, 0)
	}
	return ISOUUID(t), nil
}

// plan checks, before anything is built, the CD's kernel command line (its
// configuration: checked now, not at boot), the root, and the container's
// tools.
func (s LiveCDSpec) plan(url string) (*liveCDBuild, error) {
	if s.UUID == "" {
		uuid, err := liveCDUUID()
		if err != nil {
			return nil, err
		}
		s.UUID = uuid
	}
	b := &liveCDBuild{s: s, container: s.Container != "" && s.Container != "none", url: url}
	var err error
	if url != "" {
		b.cmdline, b.imagePath, b.cfg, err = NetbootCmdline(url, s.Container, s.Append)
	} else {
		b.cmdline, b.imagePath, b.cfg, err = LiveCDCmdline(config.UUID(s.UUID), s.Container, s.Append)
	}
	if err != nil {
		return nil, err
	}
	if err := checkInit(b.cfg, s.CA, s.Init); err != nil {
		return nil, err
	}
	if b.cfg.Verity != "" {
		return nil, fmt.Errorf("-append says sandbox.verity=: mklive computes the root hash itself; leave it out (mklive -verity=false builds a CD without)")
	}
	if !s.NoVerity {
		// The root hash is known once the image is: the modules are
		// chosen for a command line that has one.
		b.cfg.Verity = strings.Repeat("0", 64)
	}
	if b.root, err = os.Stat(s.Root); err != nil {
		return nil, fmt.Errorf("root %s: %w", s.Root, err)
	}
	if url == "" || s.UKI { // a netboot tree's UEFI boot is iPXE's, or the UKI
		if err := b.planUEFI(); err != nil {
			return nil, err
		}
	}
	if b.container {
		if err := checkSquashfs(s.Kernel, s.Container); err != nil {
			return nil, err
		}
		if _, err := hostcmd.Need("mksquashfs"); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// initramfs builds the initramfs with the modules the command line and
// the container need, and returns its path.
func (b *liveCDBuild) initramfs() (string, error) {
	s := b.s
	d, err := s.Kernel.Deps()
	if err != nil {
		return "", err
	}
	req, opt := modpolicy.Configured(b.cfg)
	// On UEFI, sandbox-init reads the Secure Boot state and the stub's
	// variables through efivarfs, and leaves it mounted for the booted
	// system (enrolling keys, as sbctl does, needs it).
	opt = append(opt, "efivarfs")
	opt = append(opt, caModules(s.CA)...)
	if b.container {
		req = append(req, modpolicy.Container(d, s.Container)...)
	}
	start := time.Now()
	rep, err := BuildInitramfs(InitramfsSpec{Init: s.Init, Kernel: s.Kernel, Required: append(req, s.Extra...), Optional: opt,
		Shell: s.RescueShell, Compression: s.Compression, CA: s.CA, Out: filepath.Join(b.work, "initrd.img")})
	if err != nil {
		return "", err
	}
	s.Log("initramfs: %s compressed (%s), %s unpacked, kernel %s, %d modules, %s: %s%s", config.HumanBytes(uint64(rep.Compressed)), compression(s.Compression), config.HumanBytes(uint64(rep.Unpacked)), s.Kernel.Version, len(rep.Modules), hostcmd.Took(start), strings.Join(rep.Modules, " "), CANote(s.CA))
	return rep.Path, nil
}

// rootImage returns the root image: Root as it is when it is a file, else
// one made from the tree.
func (b *liveCDBuild) rootImage() (string, error) {
	if !b.root.IsDir() {
		b.s.Log("root image: %s as it is, %s", b.s.Root, imageFacts(b.s.Root, ""))
		return b.s.Root, nil
	}
	return b.rootImageFromTree()
}

// rootImageFromTree makes the root image from the Root directory, sized
// for the tree (or the container's COW store) unless Size says.
func (b *liveCDBuild) rootImageFromTree() (string, error) {
	s := b.s
	n, inodes, err := TreeSize(s.Root)
	if err != nil {
		return "", fmt.Errorf("root tree %s: %w", s.Root, err)
	}
	s.Log("root tree %s: %s in %d files and directories", s.Root, config.HumanBytes(n), inodes)
	img := filepath.Join(b.work, "initrd-ext2")
	fstype := s.FSType
	if fstype == "" {
		fstype = map[bool]string{true: "ext4", false: "ext2"}[b.container]
	}
	size := s.Size
	switch {
	case size == 0 && b.container:
		size = ContainerImageSize(n, COWBytes(b.cfg))
	case size == 0:
		size = ImageSize(n, inodes)
	}
	if b.container {
		img = filepath.Join(b.work, "rootfs.img")
	}
	spec := RootImageSpec{Tree: s.Root, Out: img, FSType: fstype, Size: size, Container: b.container, Journal: b.cfg.Persistent, COW: COWBytes(b.cfg), Log: s.Log}
	s.Log("root image: %s, %s%s, from %s ...", fstype, humanSize(size), map[bool]string{true: " sparse"}[b.container], s.Root)
	start := time.Now()
	if _, err := buildRootImage(spec, n, inodes); err != nil {
		return "", err
	}
	s.Log("root image: %s, %s", fstype, imageFacts(img, hostcmd.Took(start)))
	return img, nil
}

// logRoomToWrite logs how much the live system can write in /.
func (b *liveCDBuild) logRoomToWrite(img string) {
	if free, err := ImageFree(img); err == nil {
		msg, _ := roomToWrite(free, b.cfg)
		b.s.Log("%s", msg)
	}
}

// containerImage returns what goes on the CD for the root image: the image
// itself, or with a container, the squashfs it is packed in (and a root
// image made for it is removed).
func (b *liveCDBuild) containerImage(img string) (string, error) {
	s := b.s
	if !b.container {
		return img, nil
	}
	onCD := filepath.Join(b.work, "squashfs.img")
	s.Log("squashfs (%s): packing the root image as %s ...", s.Container, ContainerImage)
	start := time.Now()
	n, err := BuildSquashfs(SquashfsSpec{Image: img, Out: onCD, Compression: s.Container, Log: s.Log})
	if err != nil {
		return "", err
	}
	s.Log("squashfs (%s): %s, %s", s.Container, config.HumanBytes(n), hostcmd.Took(start))
	// The image is in the squashfs now: its disk space (the tree's
	// size, with a default container) is not needed for the ISO.
	if img != s.Root {
		os.Remove(img)
	}
	return onCD, nil
}

// verityTree writes the hash tree of what goes on the CD for the root
// image, and puts its root hash on the command line; "" without verity.
func (b *liveCDBuild) verityTree(onCD string) (string, error) {
	if b.s.NoVerity {
		return "", nil
	}
	start := time.Now()
	tree := filepath.Join(b.work, "image.verity")
	root, err := VerityTree(onCD, tree, b.s.UUID)
	if err != nil {
		return "", err
	}
	b.cmdline = beforeInitArgs(b.cmdline, "sandbox.verity="+root)
	if st, err := os.Stat(tree); err == nil {
		b.s.Log("verity: hash tree %s.verity, %s, root hash %s, %s", b.imagePath, config.HumanBytes(uint64(st.Size())), root, hostcmd.Took(start))
	}
	return tree, nil
}

// iso builds the ISO from the kernel, the initramfs, what goes on the CD
// for the root image and its hash tree, and logs it.
func (b *liveCDBuild) iso(initrd, onCD, tree string) error {
	s := b.s
	start := time.Now()
	uki, err := b.signedUKI(initrd)
	if err != nil {
		return err
	}
	if err := BuildISO(ISOSpec{Kernel: s.Kernel.Vmlinuz(), Initramfs: initrd, RootImage: onCD, HashTree: tree, ImagePath: b.imagePath, Label: s.Label, UUID: s.UUID, Cmdline: b.cmdline, EFI: b.efi, UKI: uki, Out: s.Out, Log: s.Log}); err != nil {
		return err
	}
	if st, err := os.Stat(s.Out); err == nil {
		uefi := "unsigned GRUB"
		switch {
		case uki != "":
			uefi = "a unified kernel image signed with " + b.keys.DBCert()
		case b.efi.Signed():
			uefi = "shim and GRUB signed for Secure Boot"
		}
		s.Log("ISO %s: %s, %s, label %s, UUID %s, UEFI: %s, kernel command line: %s", s.Out, config.HumanBytes(uint64(st.Size())), hostcmd.Took(start), s.Label, s.UUID, uefi, b.cmdline)
	}
	return nil
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
	case cfg.COW.InRAM() && cfg.COWSize.Percent > 0:
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
