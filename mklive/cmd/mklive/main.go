// Command mklive builds sandbox-init Live CDs and initramfs images.
//
//	mklive initramfs -kernel DIR -o initramfs.cpio.gz
//	mklive rootfs    -tree DIR -o root.img
//	mklive iso       -kernel DIR -root DIR|IMAGE -o live.iso
//	mklive demo      -kernel DIR -o DIR [-shell] [-boot]
//
// DIR for -kernel is a kernel package unpacked with dpkg -x (boot/vmlinuz-V
// and lib/modules/V); scripts/setup.sh leaves one in .cache/kernel/root.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/mklive"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "initramfs":
		err = cmdInitramfs(os.Args[2:])
	case "rootfs":
		err = cmdRootfs(os.Args[2:])
	case "iso":
		err = cmdISO(os.Args[2:])
	case "demo":
		err = cmdDemo(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mklive:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: mklive initramfs|rootfs|iso|demo [flags] (mklive CMD -h for flags)")
	os.Exit(2)
}

func step(format string, args ...any) { fmt.Printf("mklive: "+format+"\n", args...) }

// initramfsFlags are shared by the commands that build an initramfs.
type initramfsFlags struct {
	kernel, init, shell, modules *string
}

func addInitramfsFlags(fs *flag.FlagSet) initramfsFlags {
	return initramfsFlags{
		kernel:  fs.String("kernel", ".cache/kernel/root", "unpacked kernel tree (boot/vmlinuz-V, lib/modules/V)"),
		init:    fs.String("init", "", "sandbox-init binary (default: build it from this repository)"),
		shell:   fs.String("rescue-shell", "", "static busybox to include as /bin/sh for the rescue shell (e.g. /bin/busybox)"),
		modules: fs.String("modules", "", "extra modules, comma-separated"),
	}
}

func (f initramfsFlags) build(out, work string) (mklive.Kernel, mklive.InitramfsReport, string, error) {
	k, err := mklive.FindKernel(*f.kernel)
	if err != nil {
		return k, mklive.InitramfsReport{}, "", err
	}
	initBin := *f.init
	if initBin == "" {
		initBin = filepath.Join(work, "sandbox-init")
		step("building sandbox-init (static)")
		if err := mklive.BuildInit(repoRoot(), initBin); err != nil {
			return k, mklive.InitramfsReport{}, "", err
		}
	}
	d, err := k.Deps()
	if err != nil {
		return k, mklive.InitramfsReport{}, "", err
	}
	req, opt := mklive.DefaultModules(d)
	if *f.modules != "" {
		req = append(req, strings.Split(*f.modules, ",")...)
	}
	rep, err := mklive.BuildInitramfs(mklive.InitramfsSpec{Init: initBin, Kernel: k, Required: req, Optional: opt, Shell: *f.shell, Out: out})
	if err != nil {
		return k, rep, "", err
	}
	step("initramfs %s: %s compressed, %s unpacked, kernel %s, %d modules: %s", out, human(rep.Compressed), human(rep.Unpacked), k.Version, len(rep.Modules), strings.Join(rep.Modules, " "))
	return k, rep, initBin, nil
}

func cmdInitramfs(args []string) error {
	fs := flag.NewFlagSet("initramfs", flag.ExitOnError)
	f := addInitramfsFlags(fs)
	out := fs.String("o", "initramfs.cpio.gz", "output file")
	fs.Parse(args)
	work, err := os.MkdirTemp("", "mklive-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	_, _, _, err = f.build(*out, work)
	return err
}

func cmdRootfs(args []string) error {
	fs := flag.NewFlagSet("rootfs", flag.ExitOnError)
	tree := fs.String("tree", "", "root file system directory")
	out := fs.String("o", "root.img", "output image")
	fstype := fs.String("fstype", "ext2", "ext2 or ext4")
	size := fs.String("size", "", "image size (e.g. 64M); default: computed from the tree")
	fs.Parse(args)
	return rootfs(*tree, *out, *fstype, *size)
}

func rootfs(tree, out, fstype, size string) error {
	if tree == "" {
		return errors.New("rootfs: -tree is required")
	}
	var bytes uint64
	if size != "" {
		s, err := config.ParseSize(size)
		if err != nil || s.Percent > 0 {
			return fmt.Errorf("-size %q: want a size such as 64M", size)
		}
		bytes = s.Bytes
	}
	n, err := mklive.BuildRootImage(mklive.RootImageSpec{Tree: tree, Out: out, FSType: fstype, Size: bytes})
	if err != nil {
		return err
	}
	step("root image %s: %s %s from %s", out, fstype, human(int64(n)), tree)
	return nil
}

func cmdISO(args []string) error {
	fs := flag.NewFlagSet("iso", flag.ExitOnError)
	f := addInitramfsFlags(fs)
	root := fs.String("root", "", "root file system: a directory (made into an ext2 image) or an existing image")
	out := fs.String("o", "live.iso", "output ISO")
	label := fs.String("label", "SANDBOX", "ISO volume label")
	appendArgs := fs.String("append", "", "extra kernel parameters")
	fs.Parse(args)
	return iso(f, *root, *out, *label, *appendArgs, nil)
}

func iso(f initramfsFlags, root, out, label, appendArgs string, extra map[string]string) error {
	if root == "" {
		return errors.New("iso: -root is required")
	}
	work, err := os.MkdirTemp(filepath.Dir(out), ".mklive-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	k, _, _, err := f.build(filepath.Join(work, "initrd.gz"), work)
	if err != nil {
		return err
	}
	img := root
	if st, err := os.Stat(root); err != nil {
		return fmt.Errorf("root %s: %w", root, err)
	} else if st.IsDir() {
		img = filepath.Join(work, "initrd-ext2")
		if err := rootfs(root, img, "ext2", ""); err != nil {
			return err
		}
	}
	cmdline := strings.TrimSpace("console=tty0 console=ttyS0 sandbox.cd=LABEL=" + label + " " + appendArgs)
	if err := mklive.BuildISO(mklive.ISOSpec{Kernel: k.Vmlinuz(), Initramfs: filepath.Join(work, "initrd.gz"), RootImage: img, Label: label, Cmdline: cmdline, Extra: extra, Out: out}); err != nil {
		return err
	}
	st, _ := os.Stat(out)
	step("ISO %s: %s, label %s, kernel command line: %s", out, human(st.Size()), label, cmdline)
	return nil
}

func cmdDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	f := addInitramfsFlags(fs)
	dir := fs.String("o", "out", "output directory")
	shell := fs.Bool("shell", false, "boot into a shell inside the sandbox after the demo")
	boot := fs.Bool("boot", false, "boot the ISO in QEMU (TCG) from -cdrom alone")
	fs.Parse(args)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	tree := filepath.Join(*dir, "demo-root")
	os.RemoveAll(tree)
	self, err := os.MkdirTemp(*dir, ".init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(self)
	if *f.init == "" {
		*f.init = filepath.Join(self, "sandbox-init")
		step("building sandbox-init (static)")
		if err := mklive.BuildInit(repoRoot(), *f.init); err != nil {
			return err
		}
	}
	initBin, err := os.ReadFile(*f.init)
	if err != nil {
		return err
	}
	if err := mklive.BusyboxTree(tree, "", map[string]string{"sbin/init": mklive.DemoInit, "bin/sandbox-init": string(initBin)}); err != nil {
		return err
	}
	step("demo root %s: busybox-static, the demo /sbin/init, the sandbox-init status tool", tree)
	out := filepath.Join(*dir, "demo.iso")
	appendArgs := ""
	if *shell {
		appendArgs = "shell"
	}
	if err := iso(f, tree, out, "SANDBOX", appendArgs, nil); err != nil {
		return err
	}
	qemu := []string{"qemu-system-x86_64", "-m", "512", "-nographic", "-no-reboot", "-cdrom", out}
	if !*boot {
		step("boot it: %s", strings.Join(qemu, " "))
		return nil
	}
	step("booting %s", strings.Join(qemu, " "))
	cmd := exec.Command(qemu[0], qemu[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
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

func human(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
