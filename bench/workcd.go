package main

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// buildCD makes the CD: the Debian root (with room for the workloads)
// as an ext4 image at /initrd-ext2, and beside it the real init for the
// bench (work-init), busybox-static (insmod, poweroff: the Debian root has
// no kmod), the kernel's overlay module, the small files' tar and
// sandbox-init (its status command reads the COW's use).
func (o *workOpts) buildCD(repo string, img *images) (string, map[string]workLoad, error) {
	root := filepath.Join(testvm.CacheDir(repo), "debian-root")
	if _, err := os.Stat(filepath.Join(root, "etc")); err != nil {
		return "", nil, fmt.Errorf("-work: %w (scripts/setup.sh makes the Debian root)", err)
	}
	tl, err := treeLoad(filepath.Join(root, o.tree))
	if err != nil {
		return "", nil, fmt.Errorf("-tree: %w", err)
	}
	loads := map[string]workLoad{"seq": {bytes: float64(o.mib) * (1 << 20), files: 1}, "tree": tl}
	dir := filepath.Join(img.Dir, "work")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	files := map[string]string{"small.tar": filepath.Join(dir, "small.tar"), "work-init": filepath.Join(dir, "work-init"),
		"busybox": filepath.Join(dir, "busybox"), "sandbox-init": filepath.Join(dir, "sandbox-init")}
	if loads["small"], err = writeSmallTar(files["small.tar"], o.files); err != nil {
		return "", nil, err
	}
	if files["initrd-ext2"], err = o.rootImage(root, dir, tl); err != nil {
		return "", nil, err
	}
	if files["overlay.ko"], err = overlayModule(img, dir); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(files["work-init"], []byte(workInit), 0o755); err != nil {
		return "", nil, err
	}
	if err := testvm.CopyFile(mklive.BusyboxBinary, files["busybox"]); err != nil {
		return "", nil, err
	}
	if err := testvm.CopyFile(img.Init, files["sandbox-init"]); err != nil {
		return "", nil, err
	}
	cd := filepath.Join(dir, "work.iso")
	return cd, loads, testvm.DataISO(cd, workLabel, files)
}

// treeLoad is what cp -a of the tree writes: its file data, files
// (symbolic links counted) and directories.
func treeLoad(tree string) (workLoad, error) {
	var tl workLoad
	err := filepath.WalkDir(tree, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			tl.dirs++
		case e.Type().IsRegular():
			info, err := e.Info()
			if err != nil {
				return err
			}
			tl.bytes += float64(info.Size())
			tl.files++
		default:
			tl.files++ // symlinks
		}
		return nil
	})
	return tl, err
}

// rootImage makes the root image: ext4, as mklive makes a container's (the
// default medium), or ext2, as its plain image (-workfs), sized for the
// tree and every workload's sandbox copy; its tables written now, so that
// ext4lazyinit writes nothing into the COW store during the measurements.
func (o *workOpts) rootImage(root, dir string, tl workLoad) (string, error) {
	b, inodes, err := mklive.TreeSize(root)
	if err != nil {
		return "", err
	}
	size := mklive.ImageSize(b, inodes) + uint64(tl.bytes) + uint64(tl.files+tl.dirs)*4096 + uint64(o.mib)<<20 + uint64(o.files)*8192 + 64<<20
	size = (size + 1<<20 - 1) &^ (1<<20 - 1)
	image := filepath.Join(dir, "root."+o.workfs)
	logf("-work: building the Debian root's image (%s, %s of files) and its CD", config.HumanBytes(size), config.HumanBytes(b))
	return image, hostcmd.Run("mke2fs", "-q", "-F", "-t", o.workfs, "-b", "4096", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0",
		"-L", workLabel, "-d", root, image, strconv.FormatUint(size>>10, 10)+"k")
}

// overlayModule is the kernel's overlay module, decompressed for busybox
// insmod, or an empty file where overlayfs is built in (the guest skips
// insmod).
func overlayModule(img *images, dir string) (string, error) {
	d, err := img.kernel.Deps()
	if err != nil {
		return "", err
	}
	ovl := filepath.Join(dir, "overlay.ko")
	p, ok := d.Path["overlay"]
	switch {
	case !ok && d.Builtin["overlay"]:
		err = os.WriteFile(ovl, nil, 0o644)
	case !ok:
		err = fmt.Errorf("kernel %s has no overlay module", img.kernel.Version)
	case strings.HasSuffix(p, ".ko"):
		err = testvm.CopyFile(filepath.Join(img.kernel.ModulesDir(), p), ovl)
	case strings.HasSuffix(p, ".ko.xz"):
		err = hostcmd.Run("bash", "-c", `xz -dc "$1" >"$2"`, "xz", filepath.Join(img.kernel.ModulesDir(), p), ovl)
	case strings.HasSuffix(p, ".ko.zst"):
		err = hostcmd.Run("bash", "-c", `zstd -qdc "$1" >"$2"`, "zstd", filepath.Join(img.kernel.ModulesDir(), p), ovl)
	default:
		err = fmt.Errorf("overlay module %s: unknown compression", p)
	}
	return ovl, err
}

// writeSmallTar writes n small files, 64 B to 4 KiB (what /etc and a
// source tree hold), 50 to a directory, under small/.
func writeSmallTar(path string, n int) (workLoad, error) {
	w := workLoad{files: n, dirs: 1}
	f, err := os.Create(path)
	if err != nil {
		return w, err
	}
	tw := tar.NewWriter(f)
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := []byte("a line of a small file in a live system's day, config or source\n")
	x := uint32(1)
	for i := 0; i < n && err == nil; i++ {
		if i%50 == 0 {
			w.dirs++
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("small/d%03d/", i/50), Mode: 0o755, ModTime: mod})
			if err != nil {
				break
			}
		}
		x = x*1664525 + 1013904223 // a fixed sequence: the same files every run
		size := 64 + int(x>>16)%(4096-64)
		body := make([]byte, size)
		for j := range body {
			body[j] = line[j%len(line)]
		}
		w.bytes += float64(size)
		if err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("small/d%03d/f%05d", i/50, i), Mode: 0o644, Size: int64(size), ModTime: mod}); err == nil {
			_, err = tw.Write(body)
		}
	}
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return w, err
}
