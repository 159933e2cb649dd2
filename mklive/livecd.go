package mklive

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// LiveCDSpec is everything a Live CD needs.
type LiveCDSpec struct {
	Kernel      Kernel
	Init        string   // the static sandbox-init binary
	Root        string   // a directory (made into an image) or an image file
	FSType      string   // for a directory: ext2 (default) or ext4
	Size        uint64   // for a directory: image size in bytes, 0 to compute it
	Label       string   // ISO volume label; the CD is found by it
	Append      string   // extra kernel parameters
	Extra       []string // extra required modules
	RescueShell string   // static busybox for the rescue shell, optional
	Compression string   // of the initramfs: zstd (default), xz, gzip
	Out         string   // the ISO
	Log         func(format string, args ...any)
}

// LiveCD builds the initramfs, the root image (when Root is a directory) and
// the ISO.
func LiveCD(s LiveCDSpec) error {
	if s.Log == nil {
		s.Log = func(string, ...any) {}
	}
	if s.Label == "" {
		s.Label = "SANDBOX"
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
	// The CD's kernel command line is its configuration: check it now,
	// not at boot, and take the modules it needs.
	cmdline := strings.TrimSpace("console=tty0 console=ttyS0 sandbox.cd=LABEL=" + s.Label + " " + s.Append)
	cfg, err := config.Parse(cmdline)
	if err != nil {
		return fmt.Errorf("the kernel command line %q: %w", cmdline, err)
	}
	req, opt := ConfiguredModules(d, cfg)
	rep, err := BuildInitramfs(InitramfsSpec{Init: s.Init, Kernel: s.Kernel, Required: append(req, s.Extra...), Optional: opt,
		Shell: s.RescueShell, Compression: s.Compression, Out: filepath.Join(work, "initrd.img")})
	if err != nil {
		return err
	}
	s.Log("initramfs: %s compressed (%s), %s unpacked, kernel %s, %d modules: %s", config.HumanBytes(uint64(rep.Compressed)), compression(s.Compression), config.HumanBytes(uint64(rep.Unpacked)), s.Kernel.Version, len(rep.Modules), strings.Join(rep.Modules, " "))
	img := s.Root
	st, err := os.Stat(s.Root)
	if err != nil {
		return fmt.Errorf("root %s: %w", s.Root, err)
	}
	if st.IsDir() {
		img = filepath.Join(work, "initrd-ext2")
		n, err := BuildRootImage(RootImageSpec{Tree: s.Root, Out: img, FSType: s.FSType, Size: s.Size})
		if err != nil {
			return err
		}
		if s.FSType == "" {
			s.FSType = "ext2"
		}
		s.Log("root image: %s, %s, from %s", s.FSType, config.HumanBytes(n), s.Root)
	}
	if err := BuildISO(ISOSpec{Kernel: s.Kernel.Vmlinuz(), Initramfs: rep.Path, RootImage: img, Label: s.Label, Cmdline: cmdline, Out: s.Out}); err != nil {
		return err
	}
	if st, err := os.Stat(s.Out); err == nil {
		s.Log("ISO %s: %s, label %s, kernel command line: %s", s.Out, config.HumanBytes(uint64(st.Size())), s.Label, cmdline)
	}
	return nil
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
