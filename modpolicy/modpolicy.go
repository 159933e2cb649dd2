// Package modpolicy is the one place that says which kernel modules a
// configuration needs: what mklive puts into an initramfs and what the
// init loads at boot come from the same lists, so a module the init waits
// for is one mklive packed. It decides nothing about loading (package
// kmod does that) and reads no files.
//
// By file: modpolicy.go a configuration's modules (For) and an
// initramfs's (Default, Configured); drivers.go the storage and network
// drivers and their order of loading; container.go a container's
// file systems and decompressors.
package modpolicy

import (
	"slices"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// RootFS are the file systems a root image may hold, as modules: mklive
// builds ext2 or ext4 images, and ext4 mounts both. Debian's cloud kernel
// has ext4 built in, its standard kernel as a module. squashfs holds the
// compressed container (LiveOS/squashfs.img) around the image.
var RootFS = []string{"ext4", "squashfs"}

// ISODisk are the file systems (and vfat's code pages) of the disks that
// hold ISO files (sandbox.iso): a Live CD whose command line does not ask
// for one goes without them.
var ISODisk = []string{"vfat", "nls_cp437", "nls_utf8", "nls_iso8859_1", "exfat"}

// SHA256Accel is the module with the x86 sha256 code (SSSE3, AVX2,
// SHA-NI): several times faster than the built-in generic code on most
// PCs; the kernel takes the fastest one loaded when the verity target is
// made.
const SHA256Accel = "sha256_ssse3"

// COWStores are the modules of every RAM COW store: brd, zram and zram's
// compressors. The COW step waits for whichever of them the boot loads.
func COWStores() []string { return append([]string{"brd"}, zramModules()...) }

// zramModules are zram and the crypto modules of its compressors (named
// as the algorithms: config.ZramAlgorithms).
func zramModules() []string { return append([]string{"zram"}, config.ZramAlgorithms...) }

// For names the kernel modules a configuration needs. Required ones must
// be in the initramfs or built in; optional ones are drivers loaded when
// present, so one initramfs serves IDE, SATA, USB, NVMe and virtio machines.
func For(c config.Config) (required, optional []string) {
	required = []string{"dm_snapshot"}
	if c.Origin.IsZero() {
		required = append(required, "loop", "isofs")
	}
	optional = append(diskDrivers(), RootFS...)
	// dm-zero (a few KiB) gives sandbox.grow its zeros: every initramfs
	// carries it, so the parameter can be typed at the boot prompt.
	optional = append(optional, "dm_zero")
	if !c.Grow.Off() {
		required = append(required, "dm_zero")
	}
	if !c.ISO.IsZero() {
		// The disk that holds the ISO file: a USB stick is vfat or exFAT
		// more often than ext4, and vfat names need code pages.
		optional = append(optional, ISODisk...)
	}
	if c.Verity != "" {
		required = append(required, "dm_verity")
		optional = append(optional, SHA256Accel)
	}
	if c.URL != "" {
		optional = append(optional, NetDrivers...)
		if c.HTTPS() {
			optional = append(optional, RNGDrivers...)
		}
		// nbd (tens of KiB, loaded only when asked for) rides along on
		// every network boot's initramfs: a netboot tree's boots from
		// sandbox.url=nbd:// too, its LiveOS served by an NBD server.
		if c.NBD() {
			required = append(required, "nbd")
		} else {
			optional = append(optional, "nbd")
		}
	}
	switch c.COW.Kind {
	case config.COWRam0:
		required = append(required, "brd")
	case config.COWZram:
		// zram lists an algorithm it knows even when the crypto module
		// behind it is not loaded, and then refuses it.
		required = append(required, "zram")
		if slices.Contains(config.ZramAlgorithms, c.ZAlgo) {
			required = append(required, c.ZAlgo)
		}
	}
	return required, optional
}

// Configured is what an initramfs carries for one configuration (a Live
// CD's kernel command line): its own modules, and the drivers for any
// machine's CD or disk. A different sandbox.cow or sandbox.origin typed at
// the boot prompt then meets a clear "module X is not available".
func Configured(c config.Config) (required, optional []string) {
	required, optional = For(c)
	_, all := Default()
	for _, m := range all {
		if !slices.Contains(optional, m) && !slices.Contains(required, m) && isDriver(m) {
			optional = append(optional, m)
		}
	}
	return required, optional
}

// isDriver tells the CD and disk drivers among Default's optional ones from
// the COW store's (zram and its compressors), sandbox.verity's, and
// sandbox.iso's disk file systems.
func isDriver(m string) bool {
	return !slices.Contains(ISODisk, m) && !slices.Contains(zramModules(), m) && m != "dm_verity" && m != SHA256Accel
}

// Default is what an initramfs carries so that any sandbox.* choice made
// at boot works: the CD and the block-device origin, with brd (and zram
// when the kernel has it). Optional modules the kernel lacks are skipped
// by the initramfs's builder.
func Default() (required, optional []string) {
	cd := config.Default()
	disk := cd
	disk.Origin = config.Path("/dev/sda")
	zram := cd
	zram.COW = config.COWZRAM
	iso := cd
	iso.ISO = config.ISORef{File: "/x.iso"} // an ISO file on a disk: vfat, exfat and their code pages
	add := func(dst *[]string, names ...string) {
		for _, n := range names {
			if !slices.Contains(*dst, n) {
				*dst = append(*dst, n)
			}
		}
	}
	for _, c := range []config.Config{cd, disk, iso} {
		r, o := For(c)
		add(&required, r...)
		add(&optional, o...)
	}
	// zram with its default compressor (lzo-rle) and lzo, both small;
	// lz4 and zstd (zstd_compress alone is 430 KiB) only when asked for
	// with -modules, so the default initramfs stays small.
	for _, algo := range []string{"lzo-rle", "lzo"} {
		zram.ZAlgo = algo
		r, _ := For(zram)
		add(&optional, r...)
	}
	// dm-verity (sandbox.verity), optional: a kernel without it still
	// gets an initramfs, and a boot that asks for verity says it lacks it.
	ver := cd
	ver.Verity = strings.Repeat("0", 64)
	vr, vo := For(ver)
	cr, co := For(cd)
	for _, m := range append(vr, vo...) {
		if !slices.Contains(cr, m) && !slices.Contains(co, m) {
			add(&optional, m)
		}
	}
	return required, optional
}
