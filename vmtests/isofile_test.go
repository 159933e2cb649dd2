package vmtests

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// isoFileGuest adds to the test init what the booted system sees of the
// disk that holds the ISO file: mounted read-only under /run, the kernel's
// read-only flag on it, a write refused.
const isoFileGuest = `d=$(awk '$2 == "/run/sandbox/isodisk" {print $1}' /proc/mounts)
echo "GUEST isodisk=$(awk '$2 == "/run/sandbox/isodisk" {print $1, $3, substr($4, 1, 2)}' /proc/mounts)"
echo "GUEST isodiskro=$(cat /sys/class/block/${d#/dev/}/ro 2>&1)"
echo "GUEST isofiles=$(ls /run/sandbox/isodisk/isos 2>&1 | tr '\n' ' ')"
touch /run/sandbox/isodisk/written 2>/dev/null && echo "GUEST isodiskwrite=written" || echo "GUEST isodiskwrite=refused"
`

var isoFileCD struct {
	once sync.Once
	path string
	err  error
}

// liveISOFile is the ISO file the sticks carry: the test data CD (the
// test root as /initrd-ext2), its init also reporting isoFileGuest.
func liveISOFile(t *testing.T) string {
	t.Helper()
	isoFileCD.once.Do(func() {
		isoFileCD.path, isoFileCD.err = buildISOFileCD(filepath.Join(built.dir, "isofile"))
	})
	if isoFileCD.err != nil {
		t.Fatal(isoFileCD.err)
	}
	return isoFileCD.path
}

func buildISOFileCD(dir string) (string, error) {
	mark := `echo "GUEST pid=$$"`
	if !strings.Contains(guestInit, mark) {
		return "", fmt.Errorf("the test init has no %q line to add to", mark)
	}
	script := strings.Replace(guestInit, mark, isoFileGuest+mark, 1)
	tool, err := os.ReadFile(filepath.Join(built.dir, "init"))
	if err != nil {
		return "", err
	}
	tree := filepath.Join(dir, "tree")
	if err := mklive.BusyboxTree(tree, "", map[string]string{"sbin/init": script, "bin/sandbox-init": string(tool)}); err != nil {
		return "", err
	}
	root := filepath.Join(dir, "root.ext2")
	if _, err := mklive.BuildRootImage(mklive.RootImageSpec{Tree: tree, Out: root, Label: "testroot"}); err != nil {
		return "", err
	}
	iso := filepath.Join(dir, "live.iso")
	return iso, testvm.DataISO(iso, "SANDBOXTEST", map[string]string{"initrd-ext2": root})
}

// partStart is where the stick's one partition starts: 1 MiB, as fdisk
// puts it.
const partStart = 1 << 20

// stick makes a disk image with an MBR partition table holding one
// partition at partStart, of size bytes, with an ext4 or vfat (FAT32) file
// system labelled label, holding files (path on the stick -> host file, or
// on ext4 "->TARGET" for a symlink).
func stick(t *testing.T, fs, label string, size int64, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "stick.img")
	if err := truncate(img, partStart+size); err != nil {
		t.Fatal(err)
	}
	partType := byte(0x83) // Linux
	switch fs {
	case "ext4":
		stage := filepath.Join(dir, "stage")
		for name, src := range files {
			dst := filepath.Join(stage, name)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if target, ok := strings.CutPrefix(src, "->"); ok {
				if err := os.Symlink(target, dst); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Link(src, dst); err != nil {
				copyFile(t, src, dst)
			}
		}
		if err := hostcmd.Run("mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-d", stage,
			"-E", fmt.Sprintf("offset=%d", partStart), img, fmt.Sprintf("%dk", size>>10)); err != nil {
			t.Fatal(err)
		}
	case "vfat":
		partType = 0x0C // FAT32 (LBA)
		at := fmt.Sprintf("%s@@%d", img, partStart)
		if err := hostcmd.Run("mformat", "-i", at, "-F", "-v", label, "-T", fmt.Sprint(size/512), "-h", "64", "-s", "32",
			"-H", fmt.Sprint(partStart/512), "::"); err != nil {
			t.Fatal(err)
		}
		made := map[string]bool{}
		for name, src := range files {
			var parents []string // the directories to make, parents first
			for d := filepath.Dir(name); d != "/" && !made[d]; d = filepath.Dir(d) {
				parents = append([]string{d}, parents...)
			}
			for _, d := range parents {
				if err := hostcmd.Run("mmd", "-i", at, "::"+d); err != nil {
					t.Fatal(err)
				}
				made[d] = true
			}
			if err := hostcmd.Run("mcopy", "-i", at, src, "::"+name); err != nil {
				t.Fatal(err)
			}
		}
	default:
		t.Fatalf("stick: no %s", fs)
	}
	// The partition table: one primary partition, as fdisk writes it.
	mbr := make([]byte, 512)
	e := mbr[446:462]
	e[1], e[2], e[3] = 0xFE, 0xFF, 0xFF // CHS: beyond 8 GiB, use the LBA
	e[4] = partType
	e[5], e[6], e[7] = 0xFE, 0xFF, 0xFF
	binary.LittleEndian.PutUint32(e[8:], partStart/512)
	binary.LittleEndian.PutUint32(e[12:], uint32(size/512))
	mbr[510], mbr[511] = 0x55, 0xAA
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(mbr, 0); err != nil {
		t.Fatal(err)
	}
	return img
}

// isoPhase is the "iso" step's time from the guest's state.json.
func isoPhase(t *testing.T, c console) {
	for _, p := range c.guestState(t).Phases {
		if p.Name == "iso" {
			t.Logf(`phase "iso": %.1f ms`, p.Millis)
			return
		}
	}
	t.Errorf(`state.json has no phase "iso"`)
}

// TestISOFile boots a Live CD kept as an ISO file on a partition of a
// second disk (sandbox.iso), with no CD in the drive: on ext4 named by its
// label, and on vfat (FAT32) found by searching every disk. The root is the
// writable snapshot, the CD under /mnt2 is the ISO file's loop device, the
// stick's partition is mounted read-only under /run in the booted system,
// and the stick is byte-for-byte unchanged.
func TestISOFile(t *testing.T) {
	for _, tc := range []struct {
		name, fs, param string
		bus             testvm.Bus
		dev             string
	}{
		{"ext4-label", "ext4", "sandbox.iso=LABEL=STICK:/isos/live.iso", testvm.VirtioBlk, "/dev/vda1"},
		{"vfat-search", "vfat", "sandbox.iso=/isos/live.iso", testvm.IDE, "/dev/sda1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := stick(t, tc.fs, "STICK", 64<<20, map[string]string{"/isos/live.iso": liveISOFile(t), "/isos/other.iso": built.cdISO})
			before := sha256File(t, img)
			c := bootVM(t, vm{append: []string{tc.param}, drives: []testvm.Drive{{File: img, Bus: tc.bus}}})
			for k, want := range map[string]string{
				"root":         "/dev/mapper/sandbox ext4 rw",
				"write":        "sandbox-write-test",
				"cd":           "/dev/loop0 iso9660 ro",
				"isodisk":      tc.dev + " " + tc.fs + " ro",
				"isodiskro":    "1",
				"isodiskwrite": "refused",
				"isofiles":     "live.iso other.iso ",
			} {
				if got := c.mustGuest(t, k); got != want {
					t.Errorf("guest %s = %q, want %q", k, got, want)
				}
			}
			if want := fmt.Sprintf("sandbox-init: ISO file /isos/live.iso found on %s (%s, LABEL=STICK, UUID=", tc.dev, tc.fs); !c.contains(want) {
				t.Errorf("console lacks %q", want)
			}
			if st := c.guestState(t); st.CD != tc.dev+":/isos/live.iso" || st.ISODisk != tc.dev || st.ISOLoop != "/dev/loop0" {
				t.Errorf("state.json: cd %q, iso_disk %q, iso_loop %q", st.CD, st.ISODisk, st.ISOLoop)
			}
			isoPhase(t, c)
			if after := sha256File(t, img); after != before {
				t.Errorf("the stick changed: sha256 %s before the boot, %s after", before, after)
			}
		})
	}
}

// TestISOFileFailures: an ISO file that is not on any disk (searched for
// sandbox.wait), not on the disk named by its label, or not an ISO 9660
// image: each a clear message in phase "iso", the failure action, and the
// stick unchanged.
func TestISOFileFailures(t *testing.T) {
	notISO := filepath.Join(t.TempDir(), "random.bin")
	random := make([]byte, 1<<20)
	rand.Read(random)
	if err := os.WriteFile(notISO, random, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		param  string
		expect []string
	}{
		{"missing", "sandbox.iso=/isos/missing.iso", []string{
			"device: /isos/missing.iso",
			"error: /isos/missing.iso is on none of the disks: /dev/vda (no ext4, vfat or exfat); /dev/vda1 (vfat, LABEL=STICK, UUID=",
			"): no /isos/missing.iso: no such file or directory within 2s",
			"hint: check the path (ext4 names are case-sensitive); in the rescue shell: mount -o ro /dev/vda1 /mnt && ls -R /mnt",
		}},
		{"missing-on-label", "sandbox.iso=LABEL=STICK:/isos/missing.iso", []string{
			"device: /dev/vda1:/isos/missing.iso",
			"error: /dev/vda1 (vfat, LABEL=STICK, UUID=",
			"): no /isos/missing.iso: no such file or directory",
			"hint: check the path (ext4 names are case-sensitive); /dev/vda1 has: /isos/bad.iso /isos/live.iso",
		}},
		{"wrong-label", "sandbox.iso=LABEL=OTHER:/isos/live.iso", []string{
			"error: no file system with LABEL=OTHER among /dev/vda (no ext4, vfat or exfat); /dev/vda1 (vfat, LABEL=STICK, UUID=",
		}},
		{"not-iso9660", "sandbox.iso=/isos/bad.iso", []string{
			"device: /dev/vda1:/isos/bad.iso",
			"error: /isos/bad.iso is not an ISO 9660 image: mount /dev/loop0 on /cd (iso9660, read-only): invalid argument",
			"hint: sandbox.iso= must name a Live CD's .iso file",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := stick(t, "vfat", "STICK", 64<<20, map[string]string{"/isos/live.iso": built.cdISO, "/isos/bad.iso": notISO})
			before := sha256File(t, img)
			expectFailure(t, vm{append: []string{tc.param, "sandbox.wait=2"}, drives: []testvm.Drive{{File: img, Bus: testvm.VirtioBlk}}}, "iso", tc.expect...)
			if after := sha256File(t, img); after != before {
				t.Errorf("the stick changed: sha256 %s before the boot, %s after", before, after)
			}
		})
	}
}

// TestISOFileTwoDisks: the ISO file's path is resolved inside the disk
// (openat2 RESOLVE_IN_ROOT): on the first disk (ext4) /isos/live.iso is a
// symlink to /isos/real.iso, which means the disk's own file, not one of
// the initramfs. A second disk (vfat) holds /isos/live.iso too: the search
// waits for every disk driver, boots the first and names the second.
func TestISOFileTwoDisks(t *testing.T) {
	t.Parallel()
	first := stick(t, "ext4", "STICK", 64<<20, map[string]string{"/isos/real.iso": liveISOFile(t), "/isos/live.iso": "->/isos/real.iso"})
	second := stick(t, "vfat", "OTHER", 64<<20, map[string]string{"/isos/live.iso": built.cdISO})
	sums := []string{sha256File(t, first), sha256File(t, second)}
	c := bootVM(t, vm{append: []string{"sandbox.iso=/isos/live.iso"},
		drives: []testvm.Drive{{File: first, Bus: testvm.VirtioBlk}, {File: second, Bus: testvm.VirtioBlk}}})
	for k, want := range map[string]string{"root": "/dev/mapper/sandbox ext4 rw", "isodisk": "/dev/vda1 ext4 ro", "isofiles": "live.iso real.iso "} {
		if got, _ := c.guest(k); got != want {
			t.Errorf("guest %s = %q, want %q", k, got, want)
		}
	}
	for _, want := range []string{"sandbox-init: ISO file /isos/live.iso found on /dev/vda1 (ext4, LABEL=STICK, UUID=",
		"WARNING: /dev/vdb1 (vfat, LABEL=OTHER, UUID=", ") also holds /isos/live.iso: the one on /dev/vda1 (ext4, LABEL=STICK, UUID=",
		") booted; to choose, use sandbox.iso=UUID=<UUID>:/isos/live.iso or sandbox.iso=/dev/…:/isos/live.iso"} {
		if !c.contains(want) {
			t.Errorf("console lacks %q", want)
		}
	}
	for i, img := range []string{first, second} {
		if after := sha256File(t, img); after != sums[i] {
			t.Errorf("disk %d changed: sha256 %s before the boot, %s after", i+1, sums[i], after)
		}
	}
}
