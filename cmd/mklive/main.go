// Command mklive builds sandbox-init Live CDs and initramfs images.
//
//	mklive initramfs -kernel DIR -o initramfs.img
//	mklive rootfs    -tree DIR -o root.img
//	mklive iso       -kernel DIR -root DIR|IMAGE -o live.iso [-container zstd|xz|none] [-secureboot auto|yes|no] [-uki -keys KEYDIR]
//	mklive netboot   -kernel DIR -root DIR|IMAGE -o DIR [-url http(s)://SERVER/PATH] [-ca FILE|system] [-container zstd|xz|none]
//	mklive demo      -kernel DIR -o DIR [-shell] [-boot] [-container zstd|xz|none] [-secureboot auto|yes|no]
//
// DIR for -kernel is a kernel package unpacked with dpkg -x (boot/vmlinuz-V
// and lib/modules/V); scripts/setup.sh leaves one in .cache/kernel/root.
// -kver picks the version when DIR has several (on / it defaults to the
// running kernel).
//
// -container (iso, demo) is how the root image goes on the CD: zstd (the
// default) or xz make it a sparse ext4 image of generous size (4 GiB, or 4
// times the tree) inside a squashfs at /LiveOS/squashfs.img; none stores
// an ext2 image sized from the tree as it is, at /initrd-ext2.
//
// -secureboot (iso, demo) is how the ISO boots on UEFI: auto (the default)
// boots through Debian's signed shim and GRUB, which firmware with Secure
// Boot enforced accepts, when the kernel image is signed and the two are
// found (-signed DIR: where shim-signed, shim-helpers-amd64-signed and
// grub-efi-amd64-signed are unpacked with dpkg -x; default: the cache
// scripts/setup.sh fills, then /), else through an unsigned GRUB; yes
// fails when something is missing; no is the unsigned GRUB.
//
// netboot writes the directory a web server serves for a network boot:
// vmlinuz, initrd.img with the NIC drivers, the image or container and its
// hash tree (LiveOS/squashfs.img{,.verity}) and boot.ipxe, whose kernel line
// has sandbox.url under -url (default http://${next-server}, which iPXE
// fills in) and sandbox.verity, the same command line in
// pxelinux.cfg/default (with -url a server's address; PXELINUX's programs
// when this machine has them) and grub/grub.cfg; with -uki -keys KEYDIR,
// uki.efi too, which boot.ipxe chains on UEFI.
//
// -ca FILE|system (initramfs, iso, netboot) is for https:// URLs: the PEM
// bundle of CAs (system: this host's /etc/ssl/certs/ca-certificates.crt)
// goes into the initramfs, and sandbox-init is built with TLS (-tags
// tls), which no other initramfs carries. An https:// -url needs it.
//
// -uki (iso) boots UEFI through a unified kernel image instead: systemd's
// stub with the kernel, the initramfs and the command line (the root hash
// with it), signed with the db key of -keys KEYDIR (db.key, db.crt), which
// mklive makes with a PK and KEK, their .auth files to enroll and
// enroll.sh, when KEYDIR has none.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/mklive"
	"github.com/sandbox-init/sandbox-init/modpolicy"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmds := map[string]func([]string) error{"initramfs": cmdInitramfs, "rootfs": cmdRootfs, "iso": cmdISO, "netboot": cmdNetboot, "demo": cmdDemo}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		usage()
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "mklive:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: mklive initramfs|rootfs|iso|netboot|demo [flags] (mklive CMD -h for flags)")
	os.Exit(2)
}

func step(format string, args ...any) { fmt.Printf("mklive: "+format+"\n", args...) }

// common are the flags of the commands that build an initramfs.
type common struct {
	kernel, kver, init, shell, modules, compress, ca *string
	net                                              *bool
	work                                             string
}

func commonFlags(fs *flag.FlagSet) *common {
	return &common{
		kernel:   fs.String("kernel", ".cache/kernel/root", "unpacked kernel tree (boot/vmlinuz-V, lib/modules/V)"),
		kver:     fs.String("kver", "", "kernel version, when the -kernel tree has several (default: the only one; on / the running kernel)"),
		init:     fs.String("init", "", "sandbox-init binary (default: build it from this repository)"),
		shell:    fs.String("rescue-shell", "", "static busybox to include as /bin/sh for the rescue shell (e.g. /bin/busybox)"),
		modules:  fs.String("modules", "", "extra required modules, comma-separated"),
		compress: fs.String("compress", "zstd", "initramfs compression: zstd, xz or gzip"),
		net:      fs.Bool("net", false, "add the NIC drivers the kernel has (virtio_net, e1000e, igb, r8169…), and the network to sandbox-init, and nbd, for a network boot (sandbox.url; without it, -ca or sandbox.url in -append, a CD's init has no network code: 1.5 MB less)"),
		ca:       fs.String("ca", "", "for https:// (sandbox.url): a PEM bundle of the CAs that may sign the server's certificate, put into the initramfs, or system (this host's "+mklive.SystemCA+"); sandbox-init is then built with TLS (2.1 MB more)"),
	}
}

// caBundle is -ca's file ("" when not given).
func (c *common) caBundle() string {
	if *c.ca == "system" {
		return mklive.SystemCA
	}
	return *c.ca
}

// setup finds the kernel and builds sandbox-init unless -init names it:
// with the network when network, with TLS with -ca. Call cleanup when
// done.
func (c *common) setup(network bool) (mklive.Kernel, func(), error) {
	// A bundle the init could not read stops the build before the init
	// is built (half a minute), not after.
	if err := mklive.CheckCA(c.caBundle()); err != nil {
		return mklive.Kernel{}, func() {}, err
	}
	k, err := mklive.FindKernel(*c.kernel, *c.kver)
	if err != nil {
		return k, func() {}, err
	}
	work, err := os.MkdirTemp("", "mklive-")
	if err != nil {
		return k, func() {}, err
	}
	cleanup := func() { os.RemoveAll(work) }
	if *c.init == "" {
		*c.init = filepath.Join(work, "sandbox-init")
		tags := mklive.InitTags(network, *c.ca)
		what := "without the network (a CD's: -net adds it)"
		switch {
		case *c.ca != "":
			what = "with the network and TLS for https://"
		case network:
			what = "with the network, http:// (-ca adds https://)"
		}
		step("building sandbox-init (static, %s)", what)
		if err := mklive.BuildInit(repoRoot(), *c.init, tags...); err != nil {
			return k, cleanup, err
		}
	}
	return k, cleanup, nil
}

func (c *common) extra() []string {
	if *c.modules == "" {
		return nil
	}
	return strings.Split(*c.modules, ",")
}

func cmdInitramfs(args []string) error {
	fs := flag.NewFlagSet("initramfs", flag.ExitOnError)
	c := commonFlags(fs)
	out := fs.String("o", "initramfs.img", "output file")
	fs.Parse(args)
	k, cleanup, err := c.setup(*c.net || *c.ca != "")
	defer cleanup()
	if err != nil {
		return err
	}
	req, opt := modpolicy.Default()
	if *c.net || *c.ca != "" {
		opt = append(opt, modpolicy.NetDrivers...)
		opt = append(opt, "nbd") // sandbox.url=nbd://
	}
	if *c.ca != "" {
		opt = append(opt, modpolicy.RNGDrivers...)
	}
	rep, err := mklive.BuildInitramfs(mklive.InitramfsSpec{Init: *c.init, Kernel: k, Required: append(req, c.extra()...), Optional: opt, Shell: *c.shell, Compression: *c.compress, CA: c.caBundle(), Out: *out})
	if err != nil {
		return err
	}
	step("initramfs %s: %s compressed (%s), %s unpacked, kernel %s, %d modules: %s%s", *out, config.HumanBytes(uint64(rep.Compressed)), *c.compress, config.HumanBytes(uint64(rep.Unpacked)), k.Version, len(rep.Modules), strings.Join(rep.Modules, " "), mklive.CANote(c.caBundle()))
	return nil
}

func cmdRootfs(args []string) error {
	fs := flag.NewFlagSet("rootfs", flag.ExitOnError)
	tree := fs.String("tree", "", "root file system directory")
	out := fs.String("o", "root.img", "output image")
	img := imageFlags(fs, "ext2", "ext2 or ext4", "image size (e.g. 64M); default: computed from the tree")
	bytes, err := img.parse(fs, args, "tree")
	if err != nil {
		return err
	}
	n, err := mklive.BuildRootImage(mklive.RootImageSpec{Tree: *tree, Out: *out, FSType: *img.fstype, Size: bytes})
	if err != nil {
		return err
	}
	step("root image %s: %s %s from %s", *out, *img.fstype, config.HumanBytes(n), *tree)
	return nil
}

// live are the flags of the commands that build a Live system from -root
// (iso, netboot).
type live struct {
	c                       *common
	root, append, container *string
	verity                  *bool
	img                     rootImage
}

func liveFlags(fs *flag.FlagSet) *live {
	return &live{
		c:         commonFlags(fs),
		root:      fs.String("root", "", "root file system: a directory (made into an ext2 image) or an existing image"),
		append:    fs.String("append", "", "extra kernel parameters"),
		container: containerFlag(fs),
		verity:    verityFlag(fs),
		img: imageFlags(fs, "", "file system of the root image made from a directory: ext2 or ext4 (default: ext4 in a container, ext2 without)",
			"size of the root image made from a directory (e.g. 256M); default: max(4G, 4 × the tree) in a container, the tree with a quarter more without"),
	}
}

// spec parses args and finds the kernel (and builds sandbox-init): the
// spec of what -root makes, with -o (out, read once parsed). Call cleanup when done.
func (l *live) spec(fs *flag.FlagSet, args []string, out *string, netboot bool) (mklive.LiveCDSpec, func(), error) {
	bytes, err := l.img.parse(fs, args, "root")
	if err == nil {
		err = mklive.CheckContainer(*l.container)
	}
	if err != nil {
		return mklive.LiveCDSpec{}, func() {}, err
	}
	// The init has the network for a netboot tree, or when -net, -ca or
	// the command line's sandbox.url asks for it.
	k, cleanup, err := l.c.setup(netboot || *l.c.net || *l.c.ca != "" || strings.Contains(*l.append, "sandbox.url="))
	return mklive.LiveCDSpec{Kernel: k, Init: *l.c.init, Root: *l.root, FSType: *l.img.fstype, Size: bytes, Append: *l.append, Container: *l.container,
		NoVerity: !*l.verity, Extra: l.c.extra(), RescueShell: *l.c.shell, Compression: *l.c.compress, CA: l.c.caBundle(), Out: *out, Log: step}, cleanup, err
}

func cmdISO(args []string) error {
	fs := flag.NewFlagSet("iso", flag.ExitOnError)
	l := liveFlags(fs)
	out := fs.String("o", "live.iso", "output ISO")
	label := fs.String("label", "SANDBOX", "ISO volume label")
	sb := secureBootFlags(fs)
	uki := fs.Bool("uki", false, "UEFI boots a unified kernel image (kernel, initramfs, command line with the root hash) signed with -keys' db key, no GRUB")
	keys := fs.String("keys", "", "with -uki: the directory of your db.key and db.crt, or an empty one where mklive makes PK, KEK and db with their .auth files")
	fs.Parse(args)
	if err := mklive.CheckSecureBoot(*sb.mode); err != nil {
		return err
	}
	if *keys != "" && !*uki {
		return fmt.Errorf("-keys signs a unified kernel image: add -uki")
	}
	s, cleanup, err := l.spec(fs, args, out, false)
	defer cleanup()
	if err != nil {
		return err
	}
	s.Label, s.SecureBoot, s.SignedRoots, s.UKI, s.Keys = *label, *sb.mode, sb.roots(), *uki, *keys
	return mklive.LiveCD(s)
}

func cmdNetboot(args []string) error {
	fs := flag.NewFlagSet("netboot", flag.ExitOnError)
	l := liveFlags(fs)
	out := fs.String("o", "netboot", "output directory: what the web server serves at -url")
	url := fs.String("url", mklive.NetbootURL, "the URL the web server serves the directory at (boot.ipxe's kernel, initrd and sandbox.url are under it); iPXE settings such as ${next-server} are filled in by iPXE")
	uki := fs.Bool("uki", false, "add uki.efi, a unified kernel image (kernel, initramfs, command line with the root hash) signed with -keys' db key, which boot.ipxe chains on UEFI")
	keys := fs.String("keys", "", "with -uki: the directory of your db.key and db.crt, or an empty one where mklive makes PK, KEK and db with their .auth files")
	s, cleanup, err := l.spec(fs, args, out, true)
	defer cleanup()
	if err != nil {
		return err
	}
	if *keys != "" && !*uki {
		return fmt.Errorf("-keys signs a unified kernel image: add -uki")
	}
	s.UKI, s.Keys = *uki, *keys
	return mklive.Netboot(mklive.NetbootSpec{LiveCDSpec: s, URL: *url})
}

func cmdDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	c := commonFlags(fs)
	dir := fs.String("o", "out", "output directory")
	shell := fs.Bool("shell", false, "end the demo in a shell inside the sandbox")
	boot := fs.Bool("boot", false, "boot the ISO in QEMU (TCG) from -cdrom alone")
	container := containerFlag(fs)
	verity := verityFlag(fs)
	sb := secureBootFlags(fs)
	fs.Parse(args)
	if err := mklive.CheckContainer(*container); err != nil {
		return err
	}
	if err := mklive.CheckSecureBoot(*sb.mode); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	k, cleanup, err := c.setup(false)
	defer cleanup()
	if err != nil {
		return err
	}
	tree := filepath.Join(*dir, "demo-root")
	if err := mklive.DemoTree(tree, *c.init); err != nil {
		return err
	}
	step("demo root %s: busybox-static, the demo /sbin/init, the sandbox-init status tool", tree)
	out := filepath.Join(*dir, "demo.iso")
	appendArgs := ""
	if *shell {
		appendArgs = "shell"
	}
	if err := mklive.LiveCD(mklive.LiveCDSpec{Kernel: k, Init: *c.init, Root: tree, Append: appendArgs, Container: *container,
		NoVerity: !*verity, Extra: c.extra(), RescueShell: *c.shell, Compression: *c.compress, SecureBoot: *sb.mode, SignedRoots: sb.roots(), Out: out, Log: step}); err != nil {
		return err
	}
	qemu := []string{"qemu-system-x86_64", "-m", "512", "-nographic", "-no-reboot", "-cdrom", out}
	if !*boot {
		step("boot it: %s", strings.Join(qemu, " "))
		return nil
	}
	step("booting %s (TCG; Ctrl-A X quits QEMU)", strings.Join(qemu, " "))
	cmd := exec.Command(qemu[0], qemu[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

// containerFlag defines -container on fs.
func containerFlag(fs *flag.FlagSet) *string {
	return fs.String("container", "zstd", "how the root image goes on the CD: zstd or xz (a sparse ext4 image of generous size in a squashfs so compressed, at /LiveOS/squashfs.img), or none (the image as it is, at /initrd-ext2)")
}

func verityFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("verity", true, "write the image's dm-verity hash tree on the CD (IMAGE.verity) and its root hash on the kernel command line (sandbox.verity=): sandbox-init then checks every block it reads of the image")
}

// secureBoot are the flags that choose the UEFI boot loaders.
type secureBoot struct{ mode, signed *string }

// secureBootFlags defines -secureboot and -signed on fs.
func secureBootFlags(fs *flag.FlagSet) secureBoot {
	return secureBoot{
		mode:   fs.String("secureboot", "auto", "UEFI boot: auto (Debian's signed shim and GRUB, for Secure Boot, when the kernel is signed and they are found, else an unsigned GRUB), yes (signed, or fail), no (unsigned GRUB)"),
		signed: fs.String("signed", "", "directory where shim-signed, shim-helpers-amd64-signed and grub-efi-amd64-signed are unpacked (dpkg -x) or installed (default: the cache scripts/setup.sh fills, then /)"),
	}
}

// roots are where to look for the signed loaders.
func (s secureBoot) roots() []string {
	if *s.signed != "" {
		return []string{*s.signed}
	}
	return mklive.DefaultSignedRoots(repoRoot())
}

// rootImage are the flags of the commands that make a root image (rootfs,
// and iso from a directory): its file system and its size.
type rootImage struct{ fstype, size *string }

// imageFlags defines -fstype (default fstype) and -size on fs, with each
// command's help.
func imageFlags(fs *flag.FlagSet, fstype, fstypeHelp, sizeHelp string) rootImage {
	return rootImage{fstype: fs.String("fstype", fstype, fstypeHelp), size: fs.String("size", "", sizeHelp)}
}

// parse parses args; the flag named need, which says what to make the image
// from, must be given. It returns -size in bytes (0: compute it).
func (r rootImage) parse(fs *flag.FlagSet, args []string, need string) (uint64, error) {
	fs.Parse(args)
	if fs.Lookup(need).Value.String() == "" {
		return 0, fmt.Errorf("%s: -%s is required", fs.Name(), need)
	}
	return parseSize(*r.size)
}

// parseSize reads -size: empty means compute it.
func parseSize(v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	s, err := config.ParseSize(v)
	if err != nil || s.Percent > 0 {
		return 0, fmt.Errorf("-size %q: want a size such as 64M", v)
	}
	return s.Bytes, nil
}

// repoRoot finds the module root (go.mod) from the working directory.
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}
