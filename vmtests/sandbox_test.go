package vmtests

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLiveCDSandbox is the how-to's Live CD: the root image is a file on a
// CD, loop-attached read-only, snapshotted over a RAM disk, mounted
// read-write, the CD moved to /mnt2, and the real init runs as PID 1.
func TestLiveCDSandbox(t *testing.T) {
	t.Parallel()
	before := sha256File(t, built.cdISO)
	c := bootVM(t, vm{qemu: []string{"-cdrom", built.cdISO}})
	if !c.contains("GUEST done") {
		t.Fatalf("the real init did not finish")
	}
	checks := map[string]string{
		"pid":            "1",
		"root":           "/dev/mapper/sandbox ext4 rw",
		"cd":             "/dev/sr0 iso9660 ro",
		"initramfs_init": "gone",
		"dmname":         "sandbox",
		"write":          "sandbox-write-test",
		"bigwrite":       "4194304",
		"ro_loop0":       "1", // the loop device over the image is read-only
		"ro_ram0":        "0",
		// argv[0] begins with '@': systemd's last killing spree spares it.
		"watcher": "@sandbox-init watch sandbox",
	}
	for k, want := range checks {
		if got := c.mustGuest(t, k); got != want {
			t.Errorf("guest %s = %q, want %q", k, got, want)
		}
	}
	slaves := c.mustGuest(t, "slaves")
	if !strings.Contains(slaves, "loop0") || !strings.Contains(slaves, "ram0") {
		t.Errorf("dm-0's slaves = %q, want loop0 and ram0", slaves)
	}
	// The live table, read back from the kernel with DM_TABLE_STATUS.
	sectors := fileSectors(t, built.rootImage)
	wantTable := "0 " + sectors + " snapshot 7:0 1:0 PO 8"
	if got := c.mustGuest(t, "table"); got != wantTable {
		t.Errorf("live table = %q, want %q", got, wantTable)
	}
	if st := c.mustGuest(t, "status"); !strings.HasPrefix(st, "0 "+sectors+" snapshot ") || strings.Contains(st, "Invalid") {
		t.Errorf("snapshot status = %q", st)
	}
	// The 4 MiB written must be in the COW store: more than 8192 sectors used.
	if cow := c.mustGuest(t, "cow"); !strings.Contains(cow, "% used") {
		t.Errorf("cow = %q", cow)
	}
	// Nothing of the initramfs is left: its files sat in tmpfs-backed rootfs
	// pages, counted in Shmem. Only the init binary may stay, held by the
	// running watcher (its file is deleted); the modules must be gone.
	var shmem int64
	if _, err := fmtSscan(c.mustGuest(t, "shmem_kb"), &shmem); err != nil {
		t.Fatal(err)
	}
	initSize := fileSize(t, filepath.Join(built.dir, "init"))
	if limit := initSize + (built.initramfs.Unpacked-initSize)/4; shmem*1024 > limit {
		t.Errorf("Shmem is %d KiB after switch_root, over %d KiB: the initramfs (%d KiB unpacked) was not freed", shmem, limit>>10, built.initramfs.Unpacked>>10)
	}
	// The watcher keeps usage.json current.
	if u := c.guestUsage(t); u.Invalid || u.TotalSectors == 0 {
		t.Errorf("usage.json: invalid %v, total_sectors %d", u.Invalid, u.TotalSectors)
	}
	if after := sha256File(t, built.cdISO); after != before {
		t.Errorf("the CD image changed")
	}
	reportInitCost(t, c)
}

// TestBaseOnWritableDisk is the how-to's first half: the origin is a
// writable block device (/dev/sda1 there, /dev/sda here). After writes in
// the sandbox the disk must be byte-for-byte what it was.
func TestBaseOnWritableDisk(t *testing.T) {
	t.Parallel()
	disk, before := writableBase(t)
	c := bootVM(t, vm{
		append: []string{"sandbox.origin=/dev/sda"},
		qemu:   []string{"-drive", "file=" + disk + ",format=raw,if=ide"},
	})
	if got := c.mustGuest(t, "write"); got != "sandbox-write-test" {
		t.Fatalf("write = %q", got)
	}
	if got := c.mustGuest(t, "bigwrite"); got != "4194304" {
		t.Fatalf("bigwrite = %q", got)
	}
	if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
		t.Errorf("root = %q", got)
	}
	if got := c.mustGuest(t, "ro_sda"); got != "1" {
		t.Errorf("/dev/sda is not read-only in the kernel (ro=%q)", got)
	}
	if got := c.mustGuest(t, "table"); !strings.HasPrefix(got, "0 "+fileSectors(t, disk)+" snapshot 8:0 1:0 PO 8") {
		t.Errorf("table = %q", got)
	}
	if after := sha256File(t, disk); after != before {
		t.Fatalf("the base disk changed: sha256 %s -> %s", before, after)
	}
}
