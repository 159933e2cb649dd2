package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// dracutArgs are dracut's arguments for the bench's initramfs: a generic
// (not host-only) image with the modules added (dmsquash-live; livenet and
// its network module for bench livenet), as Fedora's live media are
// made (lorax and livecd-creator run dracut --no-hostonly with
// dmsquash-live added), for kernel kver, with no configuration but Debian
// 12's dracut defaults (gzip, systemd in the initramfs when the root has
// it, which the Debian root does).
func dracutArgs(kver, out, modules string) []string {
	return []string{"--kver", kver, "--add", modules, "--no-hostonly", "--force",
		"--conf", "/dev/null", "--confdir", "/etc/dracut-bench.conf.d", out}
}

// dracutCmdline is the kernel command line dracut's live boot takes for a
// CD by its label (Fedora's: root=live:CDLABEL=... rd.live.image), plus
// words that end a failed boot at once instead of in an emergency shell.
func dracutCmdline(label string) []string {
	return []string{"root=live:CDLABEL=" + label, "rd.live.image", "rd.shell=0", "rd.emergency=poweroff"}
}

// buildDracut builds dracut's initramfs in the build root scripts/setup.sh
// --bench made (cache/dracut/root: the Debian root hard-linked, with
// Debian 12's dracut-core, dracut-live, cpio, kmod, dmsetup and kpartx
// unpacked and the kernel's modules): dracut runs chrooted there, in a
// mount namespace of its own with /dev and /proc, so neither the host's
// boot set-up nor its tools are involved. It needs root.
func buildDracut(cache string, k mklive.Kernel, out, modules string) (initramfs, time.Duration, error) {
	root := filepath.Join(cache, "dracut", "root")
	b, err := os.ReadFile(filepath.Join(root, ".complete"))
	if err != nil || strings.TrimSpace(string(b)) != k.Version {
		return initramfs{}, 0, fmt.Errorf("no dracut build root for kernel %s in %s: run scripts/setup.sh --bench (scripts/bench.sh system does)", k.Version, root)
	}
	name := fmt.Sprintf("tmp/bench-dracut-%d.img", os.Getpid())
	inside := filepath.Join(root, name)
	defer os.Remove(inside)
	script := `set -e; mount --rbind /dev "$1/dev"; mount -t proc proc "$1/proc"; r=$1; shift; exec chroot "$r" /usr/bin/dracut "$@"`
	start := time.Now()
	if err := hostcmd.Run("unshare", append([]string{"-m", "sh", "-c", script, "dracut", root}, dracutArgs(k.Version, "/"+name, modules)...)...); err != nil {
		return initramfs{}, 0, fmt.Errorf("dracut: %w", err)
	}
	took := time.Since(start)
	if err := os.Rename(inside, out); err != nil {
		if err := hostcmd.Run("cp", inside, out); err != nil {
			return initramfs{}, 0, err
		}
	}
	r := initramfs{path: out}
	st, err := os.Stat(out)
	if err != nil {
		return r, took, err
	}
	r.gz = st.Size()
	r.unpacked = gzipSize(out)
	return r, took, nil
}

// gzipSize is the size of a gzip file's content (the cpio archive: its
// files and their headers), 0 when it is not gzip.
func gzipSize(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return 0
	}
	n, err := io.Copy(io.Discard, z)
	if err != nil {
		return 0
	}
	return n
}
