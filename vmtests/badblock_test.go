package vmtests

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
)

// badBlockInit is the root's /sbin/init for the damaged-medium tests: it
// reads /noise (damaged on the medium), writes one 4 KiB block of it beside
// the damaged one ($near), then (unless $invalid: the snapshot is expected
// to die, and nothing more may be read from /) reads every other file of /
// with the page cache dropped, reads the written block back, and reports.
// sandbox-init, busybox and the script are read whole first, so that they
// run from the page cache even over a dead snapshot.
const badBlockInit = `#!/bin/sh
export PATH=/bin:/sbin
off() { sync; echo o >/proc/sysrq-trigger; while :; do :; done; }
echo 3 >/proc/sys/vm/drop_caches
cat /noise >/dev/null 2>&1 && echo "GUEST noise=read" || echo "GUEST noise=failed"
cat /bin/sandbox-init /bin/busybox /sbin/init >/dev/null
/bin/sandbox-init status >/dev/null 2>&1
if dd if=/dev/zero of=/noise bs=4096 seek=$near count=1 conv=notrunc,fsync 2>/run/dd.err; then echo "GUEST write=ok"; else echo "GUEST write=failed"; fi
if [ -z "$invalid" ]; then
	echo 3 >/proc/sys/vm/drop_caches
	n=0
	for f in $(find / -xdev -type f ! -path /noise); do cat "$f" >/dev/null 2>&1 || { n=$((n+1)); echo "GUEST unreadable=$f"; }; done
	echo "GUEST unreadable_count=$n"
	echo "GUEST readback=$(dd if=/noise bs=4096 skip=$near count=1 2>/dev/null | tr -d '\0' | wc -c)"
fi
sleep 2.5
/bin/sandbox-init status | sed -n 's/^cow: /GUEST cow=/p'
echo "GUEST marker=reached"
off
`

// noiseBytes is the size of /noise: random bytes no compressor shrinks, so
// they lie on the medium as they are, in a container too.
const noiseBytes = 4 << 20

func noise() []byte {
	b := make([]byte, noiseBytes)
	rand.New(rand.NewSource(20)).Read(b)
	return b
}

// damagedCD is a data CD like a default Live CD's medium: the root (ext4
// without a journal in a zstd squashfs of 128 KiB blocks, or a plain ext2
// image) with its dm-verity hash tree, one byte of /noise's block
// damagedBlock flipped on the CD.
type damagedCD struct {
	iso, root, image string
	near             int   // a block of /noise beside the damaged one, in the same 16 KiB of the snapshot's origin
	badSector        int64 // the damaged block's first 512-byte sector on the CD
}

// makeDamagedCD makes the CD; with verity, one bit of the damaged block
// flipped, dm-verity's to find; without, no hash tree and the CD as it
// is: the test makes the drive fail reads of badSector.
func makeDamagedCD(t *testing.T, container, verity bool) damagedCD {
	t.Helper()
	dir := t.TempDir()
	tool, err := os.ReadFile(filepath.Join(built.dir, "init"))
	if err != nil {
		t.Fatal(err)
	}
	data := noise()
	tree := filepath.Join(dir, "tree")
	if err := mklive.BusyboxTree(tree, "", map[string]string{"sbin/init": badBlockInit, "bin/sandbox-init": string(tool), "noise": string(data)}); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "rootfs.img")
	spec := mklive.RootImageSpec{Tree: tree, Out: img, Label: "badblock"}
	if container {
		spec.Container, spec.FSType, spec.Size = true, "ext4", 64<<20
	}
	if _, err := mklive.BuildRootImage(spec); err != nil {
		t.Fatal(err)
	}
	d := damagedCD{iso: filepath.Join(dir, "cd.iso"), image: "/initrd-ext2"}
	onCD := img
	if container {
		d.image, onCD = "/LiveOS/squashfs.img", filepath.Join(dir, "squashfs.img")
		if _, err := mklive.BuildSquashfs(mklive.SquashfsSpec{Image: img, Out: onCD}); err != nil {
			t.Fatal(err)
		}
	}
	stage := filepath.Join(dir, "stage")
	put(t, onCD, filepath.Join(stage, d.image))
	if verity {
		tree := filepath.Join(dir, "image.verity")
		if d.root, err = mklive.VerityTree(onCD, tree, t.Name()); err != nil {
			t.Fatal(err)
		}
		put(t, tree, filepath.Join(stage, d.image+".verity"))
	}
	if out, err := exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-o", d.iso, "-V", "DAMAGED", "-r", stage).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v: %s", err, out)
	}
	// The damaged block: the middle of /noise. Its neighbour shares a 16
	// KiB chunk with it in the image (the snapshot's origin), so that with
	// 16 KiB chunks the write's copy reads the damaged block.
	image, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	at := func(block int) int { return bytes.Index(image, data[block*4096:(block+1)*4096]) }
	bad := noiseBytes / 2 / 4096
	d.near = bad + 1
	if at(bad)/4096%4 == 3 {
		d.near = bad - 1
	}
	if at(bad) < 0 || at(d.near)/16384 != at(bad)/16384 {
		t.Fatalf("/noise's blocks %d and %d are not in one 16 KiB chunk of the image (%d, %d)", bad, d.near, at(bad), at(d.near))
	}
	if container && bytes.Index(image, data) < 0 {
		t.Fatal("/noise is not in one piece in the image: the damaged squashfs block may hold other files")
	}
	iso, err := os.ReadFile(d.iso)
	if err != nil {
		t.Fatal(err)
	}
	block := data[bad*4096 : (bad+1)*4096]
	if bytes.Count(iso, block) != 1 {
		t.Fatalf("/noise's block %d is on the CD %d times, want once", bad, bytes.Count(iso, block))
	}
	d.badSector = int64(bytes.Index(iso, block)) / 512
	if !verity {
		return d
	}
	iso[bytes.Index(iso, block)+10] ^= 0x04
	if err := os.WriteFile(d.iso, iso, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d damagedCD) params(extra ...string) []string {
	p := []string{"sandbox.image=" + d.image, fmt.Sprintf("near=%d", d.near)}
	if d.root != "" {
		p = append(p, "sandbox.verity="+d.root)
	}
	return append(p, extra...)
}

// scratchedDrive is QEMU's IDE CD drive with the CD whose reads of the
// damaged block fail, as a scratched disc's do (blkdebug: EIO for every
// read that touches the sector; the raw format above blkdebug signals
// its reads as read_aio).
func (d damagedCD) scratchedDrive(t *testing.T) []string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "blkdebug.cfg")
	rule := fmt.Sprintf("[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"%d\"\nonce = \"off\"\n", d.badSector)
	if err := os.WriteFile(cfg, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-drive", "if=none,id=scratched,readonly=on,driver=raw,file.driver=blkdebug,file.config=" + cfg + ",file.image.driver=file,file.image.filename=" + d.iso,
		"-device", "ide-cd,drive=scratched,bus=ide.1,unit=0"}
}

// TestDamagedBlock: on a Live CD with one damaged block, a 4 KiB write
// beside it (in the same file, the same 16 KiB of the image) works, the
// damaged block alone fails, and the rest of / reads: the snapshot lives
// on (the default chunk is the file system's 4 KiB block, so no write
// copies the damaged block). In a squashfs container the failing unit is a
// squashfs block (128 KiB of the image), here all inside /noise.
func TestDamagedBlock(t *testing.T) {
	for _, container := range []bool{false, true} {
		t.Run(map[bool]string{false: "Plain", true: "Container"}[container], func(t *testing.T) {
			t.Parallel()
			d := makeDamagedCD(t, container, true)
			c := bootVM(t, vm{append: d.params(), drives: []testvm.Drive{{File: d.iso, Bus: testvm.IDE, CD: true}}})
			if c.contains("Invalidating snapshot") {
				t.Error("the write beside the damaged block invalidated the snapshot")
			}
			for k, want := range map[string]string{"noise": "failed", "write": "ok", "unreadable_count": "0", "readback": "0", "marker": "reached"} {
				if got, _ := c.guest(k); got != want {
					t.Errorf("guest %s = %q, want %q", k, got, want)
				}
			}
			if got, _ := c.guest("cow"); !strings.Contains(got, "% used") {
				t.Errorf("sandbox-init status: cow = %q", got)
			}
			if !c.contains("sandbox-init: snapshot chunk: 8 sectors (4 KiB, the root file system's block)") {
				t.Error("the boot does not say which chunk it chose and why")
			}
		})
	}
	t.Run("ScratchedDVD", func(t *testing.T) {
		// No verity: the drive itself fails the damaged block's reads.
		t.Parallel()
		d := makeDamagedCD(t, false, false)
		c := bootVM(t, vm{append: d.params(), qemu: d.scratchedDrive(t)})
		if c.contains("Invalidating snapshot") {
			t.Error("the write beside the damaged block invalidated the snapshot")
		}
		if !c.contains("I/O error, dev sr0, sector") {
			t.Error("the drive's reads did not fail: the test damaged nothing")
		}
		for k, want := range map[string]string{"noise": "failed", "write": "ok", "unreadable_count": "0", "readback": "0", "marker": "reached"} {
			if got, _ := c.guest(k); got != want {
				t.Errorf("guest %s = %q, want %q", k, got, want)
			}
		}
	})
}

// TestDamagedBlockInvalidates: with 16 KiB chunks (main's old default,
// sandbox.chunk=32) the same write makes the kernel copy the damaged block
// and invalidate the snapshot; the boot warned of it, and the watcher and
// sandbox-init status name the cause (a read of the base failed, device
// and sector), not a full COW store.
func TestDamagedBlockInvalidates(t *testing.T) {
	t.Parallel()
	d := makeDamagedCD(t, false, true)
	c := bootVM(t, vm{append: d.params("sandbox.chunk=32", "invalid=1"), drives: []testvm.Drive{{File: d.iso, Bus: testvm.IDE, CD: true}}})
	if !c.contains("Invalidating snapshot: Error reading/writing") {
		t.Fatal("the snapshot was not invalidated: the test reproduces nothing")
	}
	for _, want := range []string{
		"sandbox-init: WARNING: sandbox.chunk=32 (16 KiB) is larger than the root file system's 4096-byte blocks",
		"sandbox-init: ALERT: the snapshot sandbox is INVALID: the kernel could not read the base image",
	} {
		if !c.contains(want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	if c.contains("COW store is full") {
		t.Error("the alert blames a full COW store")
	}
	if got := c.mustGuest(t, "cow"); !strings.HasPrefix(got, "INVALID (a read of the base image failed: ") || !strings.Contains(got, "failed dm-verity's check") {
		t.Errorf("sandbox-init status: cow = %q", got)
	}
	if got := c.mustGuest(t, "marker"); got != "reached" {
		t.Errorf("marker = %q", got)
	}
}
