package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// rdSizeKiB is the RAM disk both variants get: the recipe's brd rd_size=
// and our sandbox.cowsize=, so the COW stores are alike.
const rdSizeKiB = 262144

// recipeModules is the how-to's load order for an IDE CD-ROM plus the
// sandbox (measured.md), each module after the ones it needs.
var recipeModules = []string{"scsi_common", "scsi_mod", "libata", "ata_piix", "cdrom", "sr_mod",
	"isofs", "loop", "brd", "dm_mod", "dm_bufio", "dm_snapshot"}

// recipeInit is the how-to's Live CD /init as a busybox script: mount the
// API file systems, insmod each module, mount the CD, losetup the image
// read-only, dmsetup create the snapshot, mount it, move the CD and the API
// mounts under it, switch_root. %s is the insmod lines.
const recipeInit = `#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
%s
i=0
while [ ! -b /dev/sr0 ] && [ $i -lt 1000 ]; do usleep 10000; i=$((i+1)); done
mount -t iso9660 -o ro /dev/sr0 /mnt2
losetup -r /dev/loop0 /mnt2/initrd-ext2
SZ=$(blockdev --getsz /dev/loop0)
dmsetup create sandbox --table "0 $SZ snapshot /dev/loop0 /dev/ram0 N 8"
mount -t ext2 -o rw /dev/dm-0 /mnt
mkdir -p /mnt/mnt2
mount --move /mnt2 /mnt/mnt2
mount --move /dev /mnt/dev
mount --move /proc /mnt/proc
mount --move /sys /mnt/sys
exec switch_root /mnt /sbin/init
echo "recipe: switch_root failed"
`

// buildRecipe lays out the recipe's initramfs (busybox-static with applet
// links, Debian's dmsetup with its loader and libraries, the modules, /init)
// and packs it as the how-to does: find | cpio -o -H newc | gzip -9. The
// .debs are cached under cache/bench.
func buildRecipe(cache string, img *images) (initramfs, error) {
	stage := filepath.Join(img.Dir, "recipe")
	mods, err := recipeList(img.kernel)
	if err != nil {
		return initramfs{}, err
	}
	insmods, err := recipeInsmods(img, mods, stage)
	if err != nil {
		return initramfs{}, err
	}
	if err := mklive.BusyboxTree(stage, "", map[string]string{"init": fmt.Sprintf(recipeInit, strings.Join(insmods, "\n"))}); err != nil {
		return initramfs{}, err
	}
	if err := os.Chmod(filepath.Join(stage, "init"), 0o755); err != nil {
		return initramfs{}, err
	}
	if err := os.MkdirAll(filepath.Join(stage, "mnt"), 0o755); err != nil {
		return initramfs{}, err
	}
	if err := installDmsetup(filepath.Join(cache, "bench"), filepath.Join(img.Dir, "debs"), stage); err != nil {
		return initramfs{}, err
	}
	// The kernel's built-in initramfs already has /dev/console; a tree made
	// by mkinitrd has one too, so add it where we may (as root).
	_ = hostcmd.Run("mknod", filepath.Join(stage, "dev/console"), "c", "5", "1")
	r, err := pack(stage, filepath.Join(img.Dir, "recipe.cpio.gz"))
	r.modules = mods
	return r, err
}

// recipeInsmods puts the recipe's modules into stage and returns their
// insmod lines, in the same order. busybox insmod takes plain .ko files only, so
// they come out of an initramfs mklive builds with them (gzip, for the
// host's gzip and cpio to unpack), where they are decompressed: Debian
// 13's kernel has them as .ko.xz.
func recipeInsmods(img *images, mods []string, stage string) ([]string, error) {
	d, err := img.kernel.Deps()
	if err != nil {
		return nil, err
	}
	var files, insmods []string
	for _, m := range mods {
		p := d.Path[m]
		if i := strings.LastIndex(p, ".ko"); i >= 0 {
			p = p[:i+len(".ko")]
		}
		file := filepath.Join("lib/modules", img.kernel.Version, p)
		line := "insmod /" + file
		if m == "brd" {
			line += fmt.Sprintf(" rd_size=%d", rdSizeKiB)
		}
		files, insmods = append(files, file), append(insmods, line)
	}
	rep, err := mklive.BuildInitramfs(mklive.InitramfsSpec{Init: img.Init, Kernel: img.kernel, Required: mods,
		Compression: "gzip", Out: filepath.Join(img.Dir, "recipe-modules.cpio.gz")})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return nil, err
	}
	// Only the recipe's own modules, not the soft dependencies mklive adds.
	unpack := `cd "$1" && gzip -dc "$2" | cpio -id --quiet "${@:3}"`
	return insmods, hostcmd.Run("bash", append([]string{"-o", "pipefail", "-c", unpack, "unpack", stage, rep.Path}, files...)...)
}

// recipeList is the modules the recipe loads on a kernel, in order:
// recipeModules, then, where ext4 (which mounts the ext2 root) is a module
// rather than built in (Debian's standard kernels; the cloud kernel has it
// built in), ext4 and the modules it needs.
func recipeList(k mklive.Kernel) ([]string, error) {
	d, err := k.Deps()
	if err != nil {
		return nil, err
	}
	for i, m := range recipeModules {
		if _, ok := d.Path[m]; !ok {
			return nil, fmt.Errorf("kernel %s has no module %s", k.Version, m)
		}
		for _, need := range d.Need[m] {
			if !slices.Contains(recipeModules[:i], need) {
				return nil, fmt.Errorf("recipe order: %s needs %s first", m, need)
			}
		}
	}
	mods := slices.Clone(recipeModules)
	if d.Builtin["ext4"] || d.Builtin["ext2"] {
		return mods, nil
	}
	fs, err := d.Closure("ext4")
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", k.Version, err)
	}
	for _, m := range fs {
		if !slices.Contains(mods, m) {
			mods = append(mods, m)
		}
	}
	return mods, nil
}

// pack writes a tree as the how-to's initramfs, with the sizes it has.
func pack(stage, out string) (initramfs, error) {
	r := initramfs{path: out}
	if err := hostcmd.Run("bash", "-o", "pipefail", "-c", `cd "$1" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -9 >"$2"`, "pack", stage, out); err != nil {
		return r, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return r, err
	}
	r.gz = st.Size()
	err = filepath.WalkDir(stage, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			info, err := e.Info()
			if err == nil {
				r.unpacked += info.Size()
			}
		}
		return err
	})
	return r, err
}
