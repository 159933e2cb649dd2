package mklive

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// The sizing rule: max(4 GiB, 4 × the tree), room for a COW store given in
// bytes, rounded up to 1 GiB.
func TestContainerImageSize(t *testing.T) {
	const M, G = uint64(1 << 20), uint64(1 << 30)
	for _, tc := range []struct{ tree, cow, want uint64 }{
		{0, 0, 4 * G},
		{263 * M, 0, 4 * G},
		{G, 0, 4 * G},
		{G + 1, 0, 5 * G},
		{1300 * M, 0, 6 * G}, // 5.08 GiB, rounded up
		{3 * G / 2, 0, 6 * G},
		{263 * M, 240 * M, 4 * G},
		{263 * M, 8 * G, 9 * G},
		{2 * G, 7 * G, 10 * G},
	} {
		got := ContainerImageSize(tc.tree, tc.cow)
		if got != tc.want {
			t.Errorf("ContainerImageSize(%d MiB, COW %d MiB) = %s, want %s", tc.tree>>20, tc.cow>>20, humanSize(got), humanSize(tc.want))
		}
	}
	// Whatever the tree and the COW store, the image leaves the COW
	// store's size free: the tree with a tenth for its own metadata, the
	// inode tables (1/64), the journal, and 1/128 for the rest of ext4's
	// metadata.
	for _, tree := range []uint64{0, 100 * M, 263 * M, 3 * G, 20 * G} {
		for _, cow := range []uint64{0, M, 240 * M, 4 * G, 4*G - 300*M, 16 * G, 100 * G} {
			size := ContainerImageSize(tree, cow)
			used := tree + tree/10 + size/64 + containerJournal*M + size/128
			if size%G != 0 || size < 4*tree || size < used || size-used < cow {
				t.Errorf("tree %d MiB, COW %d MiB: image %s leaves %d MiB free", tree>>20, cow>>20, humanSize(size), int64(size-used)>>20)
			}
		}
	}
}

func TestCOWBytes(t *testing.T) {
	for _, tc := range []struct {
		cmdline string
		want    uint64
	}{
		{"", 0}, // 50% of RAM: not known at build time
		{"sandbox.cowsize=2G", 2 << 30},
		{"sandbox.cow=zram sandbox.cowsize=512M", 512 << 20},
		{"sandbox.cow=zram", 0},
		{"sandbox.cow=/dev/sdb sandbox.cowsize=2G", 0}, // a disk: its own size
	} {
		c, err := config.Parse(tc.cmdline)
		if err != nil {
			t.Fatal(err)
		}
		if got := COWBytes(c); got != tc.want {
			t.Errorf("COWBytes(%q) = %d, want %d", tc.cmdline, got, tc.want)
		}
	}
}

func TestCheckContainer(t *testing.T) {
	for _, ok := range []string{"", "zstd", "xz", "none"} {
		if err := CheckContainer(ok); err != nil {
			t.Errorf("CheckContainer(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"lz4", "ZSTD", "gzip", "squashfs", " zstd"} {
		err := CheckContainer(bad)
		if err == nil {
			t.Errorf("-container %q accepted", bad)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, strconv.Quote(bad)) || !strings.Contains(msg, "want zstd, xz or none") {
			t.Errorf("-container %q: unclear message %q", bad, msg)
		}
	}
	if err := LiveCD(LiveCDSpec{Root: t.TempDir(), Container: "lz4", Out: filepath.Join(t.TempDir(), "x.iso")}); err == nil || !strings.Contains(err.Error(), "want zstd, xz or none") {
		t.Errorf("LiveCD with -container lz4: %v", err)
	}
}

// Without a container the command line is what it always was; with one it
// names the container, and -append cannot send the boot elsewhere.
func TestLiveCmdline(t *testing.T) {
	for _, tc := range []struct{ container, extra, cmdline, image string }{
		{"", "", "console=tty0 console=ttyS0 sandbox.cd=LABEL=SANDBOX", "/initrd-ext2"},
		{"none", "sandbox.cowsize=1G", "console=tty0 console=ttyS0 sandbox.cd=LABEL=SANDBOX sandbox.cowsize=1G", "/initrd-ext2"},
		{"zstd", "", "console=tty0 console=ttyS0 sandbox.cd=LABEL=SANDBOX sandbox.image=/LiveOS/squashfs.img", "/LiveOS/squashfs.img"},
		{"xz", "shell", "console=tty0 console=ttyS0 sandbox.cd=LABEL=SANDBOX sandbox.image=/LiveOS/squashfs.img shell", "/LiveOS/squashfs.img"},
	} {
		cmdline, image, cfg, err := LiveCmdline("SANDBOX", tc.container, tc.extra)
		if err != nil {
			t.Errorf("%s: %v", tc.container, err)
			continue
		}
		if cmdline != tc.cmdline || image != tc.image || cfg.Image != tc.image {
			t.Errorf("%q: command line %q, image %s (config %s); want %q, %s", tc.container, cmdline, image, cfg.Image, tc.cmdline, tc.image)
		}
	}
	if _, _, _, err := LiveCmdline("SANDBOX", "zstd", "sandbox.image=/initrd-ext2"); err == nil || !strings.Contains(err.Error(), "leave sandbox.image out") {
		t.Errorf("sandbox.image in -append: %v", err)
	}
	if _, _, _, err := LiveCmdline("SANDBOX", "", "sandbox.cow=floppy"); err == nil {
		t.Error("a bad sandbox.cow was accepted")
	}
	if _, _, _, err := LiveCmdline("SANDBOX", "gzip", ""); err == nil {
		t.Error("-container gzip accepted")
	}
}

func TestCheckSquashfs(t *testing.T) {
	root := t.TempDir()
	k := Kernel{Root: root, Version: "6.1.0-test", modules: filepath.Join(root, "lib/modules/6.1.0-test")}
	if err := checkSquashfs(k, "zstd"); err != nil {
		t.Errorf("a tree without a config: %v", err)
	}
	cfg := filepath.Join(root, "boot", "config-6.1.0-test")
	writeFile(t, cfg, []byte("CONFIG_SQUASHFS=m\nCONFIG_SQUASHFS_XZ=y\n# CONFIG_SQUASHFS_ZSTD is not set\n"))
	if err := checkSquashfs(k, "xz"); err != nil {
		t.Errorf("xz: %v", err)
	}
	if err := checkSquashfs(k, "zstd"); err == nil || !strings.Contains(err.Error(), "-container xz") {
		t.Errorf("zstd on a kernel without it: %v", err)
	}
	writeFile(t, cfg, []byte("# CONFIG_SQUASHFS is not set\n"))
	if err := checkSquashfs(k, "xz"); err == nil || !strings.Contains(err.Error(), "-container none") {
		t.Errorf("a kernel without squashfs: %v", err)
	}
}

// needTools fails the test (it does not skip: scripts/setup.sh installs
// them) when a program is missing.
func needTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := hostcmd.Need(n); err != nil {
			t.Fatal(err)
		}
	}
}

// smallTree is a root tree of a few files.
func smallTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "etc/hostname"), []byte("live\n"))
	writeFile(t, filepath.Join(dir, "bin/data"), bytes.Repeat([]byte("not zeros "), 100000))
	if err := os.Symlink("data", filepath.Join(dir, "bin/link")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dumpe2fs runs dumpe2fs (-h: the superblock only) and returns the
// superblock's fields and the whole output.
func dumpe2fs(t *testing.T, img string, header bool) (map[string]string, string) {
	t.Helper()
	p, err := hostcmd.Need("dumpe2fs")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{img}
	if header {
		args = []string{"-h", img}
	}
	out, err := exec.Command(p, args...).Output()
	if err != nil {
		t.Fatalf("dumpe2fs %s: %v", img, err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields, string(out)
}

func field(t *testing.T, f map[string]string, key string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.Fields(f[key] + " x")[0], 10, 64)
	if err != nil {
		t.Fatalf("dumpe2fs %s = %q", key, f[key])
	}
	return n
}

// The container's layout, with the real tools: a sparse ext4 image of the
// promised size and free space, inode tables marked zeroed, as
// LiveOS/rootfs.img in a squashfs of the asked compression.
func TestBuildContainer(t *testing.T) {
	needTools(t, "mke2fs", "dumpe2fs", "debugfs", "mksquashfs", "unsquashfs")
	tree := smallTree(t)
	b, _, err := TreeSize(tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		comp    string
		size    uint64 // -size; 0: the default
		journal bool   // a persistent COW store's image
	}{
		{"zstd", 0, false},
		{"xz", 256 << 20, true},
	} {
		t.Run(tc.comp, func(t *testing.T) {
			dir := t.TempDir()
			img := filepath.Join(dir, "rootfs.img")
			logf := func(string, ...any) {}
			n, err := BuildRootImage(RootImageSpec{Tree: tree, Out: img, Size: tc.size, Container: true, Journal: tc.journal, Log: logf})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.size
			if want == 0 {
				want = 4 << 30
			}
			apparent, used, err := ImageUsage(img)
			if err != nil {
				t.Fatal(err)
			}
			if n != want || apparent != want {
				t.Fatalf("image of %d bytes (%d apparent), want %d", n, apparent, want)
			}
			if used > b+40<<20 {
				t.Errorf("the image is not sparse: %d bytes used for a tree of %d", used, b)
			}
			// The image's free space: all but the tree and ext4's
			// metadata, reported the way LiveCD reports it.
			free, err := ImageFree(img)
			if err != nil {
				t.Fatal(err)
			}
			if min := want - want/64 - want/128 - containerJournal<<20 - 2*b; free < min {
				t.Errorf("%d MiB free in a %d MiB image, want at least %d MiB", free>>20, want>>20, min>>20)
			}

			sq := filepath.Join(dir, "squashfs.img")
			sqSize, err := BuildSquashfs(SquashfsSpec{Image: img, Out: sq, Compression: tc.comp, Log: logf})
			if err != nil {
				t.Fatal(err)
			}
			if sqSize > 1<<20 {
				t.Errorf("squashfs of %d bytes for a tree of %d: the free space was not stored as holes", sqSize, b)
			}
			list, err := exec.Command("unsquashfs", "-l", sq).CombinedOutput()
			if err != nil {
				t.Fatalf("unsquashfs -l: %v\n%s", err, list)
			}
			if got := strings.Fields(string(list)); !slices.Contains(got, "squashfs-root/LiveOS/rootfs.img") || len(got) != 3 {
				t.Errorf("unsquashfs -l: %s", list)
			}
			stat, err := exec.Command("unsquashfs", "-s", sq).CombinedOutput()
			if err != nil {
				t.Fatalf("unsquashfs -s: %v\n%s", err, stat)
			}
			if !strings.Contains(string(stat), "Compression "+tc.comp) || !strings.Contains(string(stat), "Block size 131072") {
				t.Errorf("unsquashfs -s:\n%s", stat)
			}

			// The image as the boot sees it, out of the squashfs.
			out := filepath.Join(dir, "out")
			if b, err := exec.Command("unsquashfs", "-q", "-n", "-d", out, sq).CombinedOutput(); err != nil {
				t.Fatalf("unsquashfs: %v\n%s", err, b)
			}
			inner := filepath.Join(out, ContainerImage)
			f, all := dumpe2fs(t, inner, false)
			if bs := field(t, f, "Block size"); bs != 4096 {
				t.Errorf("block size %d, want 4096 (zram's sectors)", bs)
			}
			if got := field(t, f, "Block count") * 4096; got != want {
				t.Errorf("file system of %d bytes, want %d", got, want)
			}
			if got := field(t, f, "Free blocks") * 4096; got != free {
				t.Errorf("%d bytes free inside the container, %d before", got, free)
			}
			if field(t, f, "Reserved block count") != 0 {
				t.Error("blocks reserved for root: the live system's user is root anyway")
			}
			if inodes := field(t, f, "Inode count"); inodes < want/containerInodeRatio {
				t.Errorf("%d inodes, want ext4's one per 16 KiB", inodes)
			}
			for _, feat := range []string{"extent", "flex_bg"} {
				if !strings.Contains(f["Filesystem features"], feat) {
					t.Errorf("features %q lack %s", f["Filesystem features"], feat)
				}
			}
			// A journal only for a persistent COW store: a RAM store
			// would pay for every journal block twice.
			if got := strings.Contains(f["Filesystem features"], "has_journal"); got != tc.journal {
				t.Errorf("features %q: has_journal %v, want %v", f["Filesystem features"], got, tc.journal)
			}
			if tc.journal && f["Journal size"] != "16M" && f["Total journal size"] != "16M" {
				t.Errorf("journal %q, want 16M", f["Total journal size"]+f["Journal size"])
			}
			// Every group's inode table is marked zeroed: ext4lazyinit
			// writes nothing into the COW store at the first mount.
			groups := regexp.MustCompile(`(?m)^Group \d+:.*$`).FindAllString(all, -1)
			if len(groups) == 0 {
				t.Fatal("dumpe2fs lists no groups")
			}
			for _, g := range groups {
				if !strings.Contains(g, "ITABLE_ZEROED") {
					t.Errorf("inode table not marked zeroed: %s", g)
				}
			}
			cat, err := exec.Command("debugfs", "-R", "cat /etc/hostname", inner).Output()
			if err != nil || string(cat) != "live\n" {
				t.Errorf("/etc/hostname in the image: %q, %v", cat, err)
			}
		})
	}
}

// An existing image goes into the container as it is.
func TestBuildSquashfsOfImage(t *testing.T) {
	needTools(t, "mksquashfs", "unsquashfs")
	dir := t.TempDir()
	img := filepath.Join(dir, "root.img")
	writeFile(t, img, bytes.Repeat([]byte("an image "), 50000))
	sq := filepath.Join(dir, "sq.img")
	if _, err := BuildSquashfs(SquashfsSpec{Image: img, Out: sq}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if b, err := exec.Command("unsquashfs", "-q", "-n", "-d", out, sq).CombinedOutput(); err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, b)
	}
	a, _ := os.ReadFile(img)
	b, _ := os.ReadFile(filepath.Join(out, ContainerImage))
	if !bytes.Equal(a, b) {
		t.Error("the image came out of the container changed")
	}
	if st, _ := os.Stat(img); st.Mode().Perm() != 0o644 {
		t.Errorf("the image's mode changed to %v", st.Mode())
	}
	if _, err := BuildSquashfs(SquashfsSpec{Image: img, Out: sq, Compression: "lzo"}); err == nil {
		t.Error("lzo accepted")
	}
	if _, err := BuildSquashfs(SquashfsSpec{Image: dir, Out: sq}); err == nil {
		t.Error("a directory accepted as the image")
	}
}

// -container none: the image is what it was, an ext2 file system sized
// from the tree with no journal and an inode table for twice the tree.
func TestRootImageWithoutContainer(t *testing.T) {
	needTools(t, "mke2fs", "dumpe2fs")
	tree := smallTree(t)
	b, inodes, err := TreeSize(tree)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "initrd-ext2")
	n, err := BuildRootImage(RootImageSpec{Tree: tree, Out: img})
	if err != nil {
		t.Fatal(err)
	}
	if n != ImageSize(b, inodes) {
		t.Errorf("size %d, want ImageSize's %d", n, ImageSize(b, inodes))
	}
	f, _ := dumpe2fs(t, img, true)
	if strings.Contains(f["Filesystem features"], "has_journal") || strings.Contains(f["Filesystem features"], "extent") {
		t.Errorf("not ext2: %s", f["Filesystem features"])
	}
	if field(t, f, "Block size") != 4096 || field(t, f, "Block count")*4096 != n {
		t.Errorf("blocks: %s of %s", f["Block count"], f["Block size"])
	}
	if got := field(t, f, "Inode count"); got < 2*inodes || got > 2*inodes+64+4096 {
		t.Errorf("%d inodes for a tree of %d", got, inodes)
	}
}

func TestRoomToWrite(t *testing.T) {
	parse := func(s string) config.Config {
		c, err := config.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if msg, ok := roomToWrite(18<<20, parse("sandbox.cowsize=240M")); ok || !strings.Contains(msg, "No space left on device") {
		t.Errorf("18 MiB free for a 240 MiB COW store: %q", msg)
	}
	if msg, ok := roomToWrite(3<<30, parse("sandbox.cowsize=240M")); !ok || !strings.Contains(msg, "3.0 GiB free") {
		t.Errorf("3 GiB free for 240 MiB: %q", msg)
	}
	if msg, ok := roomToWrite(4<<30, parse("")); !ok || !strings.Contains(msg, "up to 8.0 GiB of RAM") {
		t.Errorf("4 GiB free for 50%% of RAM: %q", msg)
	}
	if msg, ok := roomToWrite(4<<30, parse("sandbox.cow=/dev/sdb")); !ok || !strings.Contains(msg, "4.0 GiB free") {
		t.Errorf("a disk COW store: %q", msg)
	}
}

// A sparse image copied where it cannot be hard-linked stays sparse.
func TestCopySparse(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("start"), 0)
	f.WriteAt([]byte("middle"), 64<<20)
	f.Truncate(128<<20 + 5)
	f.Close()
	dst := filepath.Join(dir, "dst")
	if err := copySparse(src, dst); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	if !bytes.Equal(a, b) {
		t.Fatal("the copy differs")
	}
	if apparent, used, _ := ImageUsage(dst); apparent != 128<<20+5 || used > 8<<20 {
		t.Errorf("copy: %d bytes, %d used", apparent, used)
	}
}

// liveKernel is a fake kernel with what a Live CD's initramfs requires:
// the fixture's modules, and isofs, brd and squashfs.
func liveKernel(t *testing.T) Kernel {
	t.Helper()
	root := t.TempDir()
	const ver = "6.1.0-live"
	fixtureKernel(t, root, "lib/modules", ver, "boot/vmlinuz-"+ver)
	dir := filepath.Join(root, "lib/modules", ver)
	dep := fixtureDep
	for _, p := range []string{"kernel/fs/isofs/isofs.ko", "kernel/drivers/block/brd.ko", "kernel/fs/squashfs/squashfs.ko"} {
		writeFile(t, filepath.Join(dir, p), moduleBytes(p))
		dep += p + ":\n"
	}
	writeFile(t, filepath.Join(dir, "kernel/drivers/md/dm-verity.ko"), moduleBytes("kernel/drivers/md/dm-verity.ko"))
	dep += "kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-mod.ko.xz\n"
	writeFile(t, filepath.Join(dir, "modules.dep"), []byte(dep))
	k, err := FindKernel(root, "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// isoFiles lists an ISO's files (xorriso -find).
func isoFiles(t *testing.T, iso string) []string {
	t.Helper()
	out, err := exec.Command("xorriso", "-indev", iso, "-find", "/", "-type", "f").Output()
	if err != nil {
		t.Fatalf("xorriso -find: %v", err)
	}
	var files []string
	for _, l := range strings.Fields(string(out)) {
		files = append(files, strings.Trim(l, "'"))
	}
	return files
}

// isoFile extracts one file of an ISO.
func isoFile(t *testing.T, iso, path string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	if b, err := exec.Command("xorriso", "-osirrox", "on", "-indev", iso, "-extract", path, out).CombinedOutput(); err != nil {
		t.Fatalf("xorriso -extract %s: %v\n%s", path, err, b)
	}
	return out
}

// A whole Live CD with a fake kernel, with and without a container: where
// the root image goes, what the command line says, the modules taken, and
// the steps logged with their sizes and times.
func TestLiveCDContainers(t *testing.T) {
	needTools(t, "mke2fs", "dumpe2fs", "mksquashfs", "unsquashfs", "xorriso", "grub-mkstandalone", "mformat", "veritysetup")
	k := liveKernel(t)
	initBin := filepath.Join(t.TempDir(), "init")
	writeFile(t, initBin, []byte("#!/bin/sh\n"))
	tree := smallTree(t)
	for _, tc := range []struct {
		container, image, cmdline string
		size                      uint64
		noVerity                  bool
	}{
		{"none", "/initrd-ext2", "console=tty0 console=ttyS0 sandbox.cd=UUID=2026-11-26-02-55-00-00", 0, false},
		{"", "/initrd-ext2", "console=tty0 console=ttyS0 sandbox.cd=UUID=2026-11-26-02-55-00-00", 0, true},
		{"zstd", "/LiveOS/squashfs.img", "console=tty0 console=ttyS0 sandbox.cd=UUID=2026-11-26-02-55-00-00 sandbox.image=/LiveOS/squashfs.img", 512 << 20, false},
	} {
		t.Run(fmt.Sprintf("container=%s,noverity=%v", tc.container, tc.noVerity), func(t *testing.T) {
			iso := filepath.Join(t.TempDir(), "live.iso")
			var log []string
			err := LiveCD(LiveCDSpec{Kernel: k, Init: initBin, Root: tree, Container: tc.container, Size: tc.size, Out: iso, UUID: "2026-11-26-02-55-00-00",
				NoVerity: tc.noVerity, Log: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }})
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(log, "\n")
			if id := isoIdentity(t, iso); id != "SANDBOX 2026-11-26-02-55-00-00" {
				t.Errorf("the ISO's label and UUID: %s", id)
			}
			files := isoFiles(t, iso)
			if !slices.Contains(files, tc.image) {
				t.Errorf("the CD lacks %s: %v", tc.image, files)
			}
			for _, f := range files {
				if f != tc.image && f != tc.image+".verity" && (f == "/initrd-ext2" || strings.HasPrefix(f, "/LiveOS")) {
					t.Errorf("the CD also holds %s", f)
				}
			}
			cfg, err := os.ReadFile(isoFile(t, iso, "/isolinux/isolinux.cfg"))
			if err != nil {
				t.Fatal(err)
			}
			mods := readInitramfs(t, isoFile(t, iso, "/boot/initrd.img"))
			_, hasVerity := mods["lib/modules/"+k.Version+"/kernel/drivers/md/dm-verity.ko"]
			if tc.noVerity {
				if !strings.Contains(string(cfg), "  APPEND "+tc.cmdline+"\n") || slices.Contains(files, tc.image+".verity") || hasVerity {
					t.Errorf("without verity: the CD has %v, the initramfs dm-verity %v, isolinux.cfg:\n%s", files, hasVerity, cfg)
				}
			} else {
				// The root hash on the command line is the tree's, and
				// veritysetup, another implementation, agrees with both.
				m := regexp.MustCompile(`  APPEND ` + regexp.QuoteMeta(tc.cmdline) + ` sandbox.verity=([0-9a-f]{64})\n`).FindSubmatch(cfg)
				if m == nil || !slices.Contains(files, tc.image+".verity") || !hasVerity {
					t.Fatalf("with verity: the CD has %v, the initramfs dm-verity %v, isolinux.cfg:\n%s", files, hasVerity, cfg)
				}
				if out, err := exec.Command("veritysetup", "verify", isoFile(t, iso, tc.image), isoFile(t, iso, tc.image+".verity"), string(m[1])).CombinedOutput(); err != nil {
					t.Errorf("veritysetup verify: %v: %s", err, out)
				}
				if !strings.Contains(all, "verity: hash tree "+tc.image+".verity, ") {
					t.Errorf("the log lacks the hash tree:\n%s", all)
				}
			}
			if tc.image == ContainerPath {
				if _, ok := mods["lib/modules/"+k.Version+"/kernel/fs/squashfs/squashfs.ko"]; !ok {
					t.Error("the initramfs lacks squashfs")
				}
				if _, ok := mods["lib/modules/"+k.Version+"/kernel/fs/ext4/ext4.ko"]; !ok {
					t.Error("the initramfs lacks ext4")
				}
				list, err := exec.Command("unsquashfs", "-l", isoFile(t, iso, ContainerPath)).CombinedOutput()
				if err != nil || !strings.Contains(string(list), "squashfs-root/LiveOS/rootfs.img") {
					t.Errorf("unsquashfs -l: %v\n%s", err, list)
				}
				for _, want := range []string{"root image: ext4, 512 MiB sparse", "root image: ext4, 512 MiB apparent", "squashfs (zstd): ", "room to write: "} {
					if !strings.Contains(all, want) {
						t.Errorf("the log lacks %q:\n%s", want, all)
					}
				}
			} else {
				f, _ := dumpe2fs(t, isoFile(t, iso, PlainImagePath), true)
				if strings.Contains(f["Filesystem features"], "has_journal") || f["Block size"] != "4096" {
					t.Errorf("/initrd-ext2 is not the ext2 image of old: %s, blocks of %s", f["Filesystem features"], f["Block size"])
				}
				if strings.Contains(all, "squashfs (") {
					t.Errorf("no container, yet:\n%s", all)
				}
			}
			for _, want := range []string{"root tree " + tree + ": ", "initramfs: ", "ISO " + iso + ": "} {
				if !strings.Contains(all, want) {
					t.Errorf("the log lacks %q:\n%s", want, all)
				}
			}
			if !regexp.MustCompile(`ISO .*: [0-9.]+ [KM]iB, [0-9]+\.[0-9] s,`).MatchString(all) {
				t.Errorf("the ISO's size and time are not logged:\n%s", all)
			}
		})
	}
}
