package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/dm"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"golang.org/x/sys/unix"
)

// prepareCOW makes or checks the copy-on-write device and returns it: it
// must exist and hold at least a few chunks, or the snapshot dies on its
// first writes. The chunk is chosen from it and the origin's file system.
func prepareCOW(s *sandbox, origin string) (string, error) {
	if err := s.need("brd", "zram", "lzo_rle", "lzo", "lz4", "lz4hc", "zstd"); err != nil {
		return "", err
	}
	dev := s.cfg.COW
	switch dev {
	case "ram0":
		dev = "/dev/ram0"
	case "zram":
		dev = "/dev/zram0"
		if err := setupZram(s); err != nil {
			return "", err
		}
	}
	if err := waitDevice(s.driversReady(), s.cfg.Wait, func() (bool, error) { return isBlock(dev), nil }); err != nil {
		err, hint := s.whyMissing(fmt.Errorf("COW device did not appear within %v", s.cfg.Wait),
			"for ram0 the brd module must be in the initramfs; for a disk, check it is attached")
		return "", &bootError{Device: dev, Err: err, Hint: hint}
	}
	sectors, err := mountutil.Sectors(dev)
	if err != nil {
		return "", &bootError{Device: dev, Err: err}
	}
	chooseChunk(s, origin, dev) // sandbox.chunk=auto: the root file system's block
	if bs, err := mountutil.LogicalBlockSize(dev); err == nil && (uint64(s.cfg.Chunk)*512)%uint64(bs) != 0 {
		return "", &bootError{Device: dev, Err: fmt.Errorf("chunk size %d sectors (%d bytes) is not a multiple of the COW device's %d-byte blocks", s.cfg.Chunk, s.cfg.Chunk*512, bs), Hint: fmt.Sprintf("use sandbox.chunk=%d or larger (a power of two)", bs/512)}
	}
	least := uint64(s.cfg.Chunk) * 4
	if sectors < least {
		return "", &bootError{Device: dev, Err: fmt.Errorf("COW device has %d sectors, fewer than 4 chunks of %d", sectors, s.cfg.Chunk), Hint: "use a larger COW device (sandbox.cowsize=) or a smaller sandbox.chunk="}
	}
	if err := checkChunk(s); err != nil {
		return "", &bootError{Device: dev, Err: err, Hint: "give sandbox.chunk= a smaller power of two (or leave it out: auto)"}
	}
	disk := dev != "/dev/ram0" && dev != "/dev/zram0"
	if disk {
		if err := proveScratch(s, dev); err != nil {
			return "", err
		}
	}
	// A PO store keeps its exceptions on the COW device, behind a header:
	// on a disk, an earlier boot's store would come back. Unless
	// sandbox.persistent asks for that, clear the header (a RAM disk is
	// new, zeros already) so the store starts empty.
	if s.cfg.Store != "N" && !s.cfg.Persistent && disk {
		bs, _ := mountutil.LogicalBlockSize(dev)
		if err := mountutil.ZeroStart(dev, snapshotHeaderBytes(bs)); err != nil {
			return "", &bootError{Device: dev, Err: err, Hint: "the COW disk must be writable: it is scratch space"}
		}
	}
	s.state.COW = dev
	s.state.COWBytes = sectors * 512
	return dev, nil
}

// setupZram sizes zram0 and picks its compressor through sysfs: the order
// matters, the algorithm can only change before disksize is set.
func setupZram(s *sandbox) error {
	sys := "/sys/block/zram0"
	if err := waitDevice(s.driversReady(), s.cfg.Wait, func() (bool, error) { return isBlock("/dev/zram0"), nil }); err != nil {
		return &bootError{Device: "/dev/zram0", Err: fmt.Errorf("zram0 did not appear within %v", s.cfg.Wait), Hint: "the zram module must be in the initramfs"}
	}
	if err := os.WriteFile(sys+"/comp_algorithm", []byte(s.cfg.ZAlgo), 0); err != nil {
		avail, _ := os.ReadFile(sys + "/comp_algorithm")
		return &bootError{Device: "/dev/zram0", Err: fmt.Errorf("compressor %s: %w", s.cfg.ZAlgo, err), Hint: fmt.Sprintf("this kernel offers: %s; set sandbox.zalgo= to one of them (its module must be in the initramfs)", strings.TrimSpace(string(avail)))}
	}
	if err := os.WriteFile(sys+"/disksize", []byte(strconv.FormatUint(s.state.COWBytes, 10)), 0); err != nil {
		return &bootError{Device: "/dev/zram0", Err: fmt.Errorf("disksize %d: %w", s.state.COWBytes, err), Hint: "is zram0 already in use? give sandbox.cowsize= a smaller size"}
	}
	return nil
}

// makeSnapshot creates the how-to's "0 SZ snapshot ORIGIN COW N CHUNK" with
// raw device-mapper ioctls and makes /dev/mapper/NAME, since no udev runs;
// it returns that device.
func makeSnapshot(s *sandbox, origin, cow string) (string, error) {
	if err := s.need("dm_snapshot"); err != nil {
		return "", err
	}
	size, err := mountutil.Sectors(origin)
	if err != nil {
		return "", &bootError{Device: origin, Err: err}
	}
	t, err := dm.Snapshot(size, origin, cow, s.cfg.Store, s.cfg.Chunk)
	if err != nil {
		return "", &bootError{Device: origin, Err: err, Hint: "check sandbox.chunk= and sandbox.cow="}
	}
	c, err := dm.Open()
	if err != nil {
		return "", &bootError{Device: dm.ControlPath, Err: err, Hint: "the dm-mod and dm-snapshot modules must be in the initramfs"}
	}
	defer c.Close()
	dev, err := c.Create(s.cfg.Name, false, t)
	if err != nil {
		return "", &bootError{Device: s.cfg.Name, Err: fmt.Errorf("table %q: %w", t, err), Hint: "the kernel log (dmesg | grep device-mapper) has the reason; check sandbox.chunk= against the devices' block sizes"}
	}
	if err := dm.MakeNode(dev); err != nil {
		return "", &bootError{Device: dev.Path(), Err: err}
	}
	s.state.Device = dev.Path()
	s.state.DMMinor = dev.Minor
	s.state.Table = t.String()
	s.log.Printf("snapshot %s (dm-%d): %s", dev.Path(), dev.Minor, t)
	return dev.Path(), nil
}

// readOnlyFS are file systems the kernel can only mount read-only.
var readOnlyFS = map[string]bool{"iso9660": true, "squashfs": true, "erofs": true, "cramfs": true, "romfs": true}

// mountRoot mounts the snapshot dev read-write on /newroot, and grows its
// file system to grow blocks (growBase) if not 0. The file system type is
// read from the origin (read-only) unless sandbox.fstype names it; cow is
// named in the hint of a mount its sectors make fail.
func mountRoot(s *sandbox, dev, cow string, grow uint64) error {
	fstype := s.cfg.FSType
	if fstype == "auto" {
		var err error
		if fstype, err = mountutil.DetectFS(dev); err != nil {
			return &bootError{Device: dev, Err: err, Hint: "the root image must hold a file system this kernel supports (ext2/ext4 here); or name it with sandbox.fstype="}
		}
	}
	if readOnlyFS[fstype] {
		return &bootError{Device: dev, Err: fmt.Errorf("the root image holds %s, a read-only file system: it cannot be written", fstype), Hint: "the root image must hold a writable file system (ext2/ext4): rebuild it with 'mklive rootfs'"}
	}
	if err := s.loadFS(dev, fstype); err != nil {
		return err
	}
	if err := mountutil.Mount(dev, newRoot, fstype, 0, ""); err != nil {
		hint := "the image may be damaged, truncated, or not the file system named (dmesg says why); rebuild it with 'mklive rootfs' or set sandbox.fstype="
		if bs, _ := mountutil.LogicalBlockSize(cow); bs > 1024 {
			hint = fmt.Sprintf("the COW device %s has %d-byte sectors: the root file system's block size must be at least that (mke2fs -b 4096, as mklive does); or dmesg says why", cow, bs)
		}
		return &bootError{Device: dev, Err: err, Hint: hint}
	}
	// Some file systems (iso9660, squashfs) mount read-only whatever was
	// asked: a sandbox on them would refuse every write. Say so now.
	var sfs unix.Statfs_t
	if err := unix.Statfs(newRoot, &sfs); err == nil && sfs.Flags&unix.ST_RDONLY != 0 {
		_ = unix.Unmount(newRoot, 0)
		return &bootError{Device: dev, Err: fmt.Errorf("%s mounted read-only: it cannot be written", fstype), Hint: "the root image must hold a writable file system (ext2/ext4): rebuild it with 'mklive rootfs'"}
	}
	s.state.FSType = fstype
	if err := growRoot(s, dev, grow); err != nil {
		_ = unix.Unmount(newRoot, 0)
		return err
	}
	_ = unix.Statfs(newRoot, &sfs)
	s.state.RootFreeBytes = sfs.Bavail * uint64(sfs.Bsize)
	s.log.Printf("%s mounted read-write on %s (%s, %s free)", dev, newRoot, fstype, config.HumanBytes(s.state.RootFreeBytes))
	if s.state.RootFreeBytes < s.state.COWBytes {
		// What the user can write is the smaller of the two: say which.
		s.log.Warnf("WARNING: the root file system has %s free, less than the COW store's %s: writes to / stop there (No space left on device); "+
			"mklive's Live CDs give the image room (a sparse image in a compressed container)",
			config.HumanBytes(s.state.RootFreeBytes), config.HumanBytes(s.state.COWBytes))
	}
	return nil
}

// moveCD moves the CD's mount under the new root, as the how-to's
// "mount --move /mnt2 /mnt/mnt2": the booted system sees its CD there.
func moveCD(s *sandbox) error {
	if s.state.CD == "" || s.state.CDReleased {
		return nil
	}
	dst := filepath.Join(newRoot, s.cfg.CDMount)
	if err := mountutil.Move(cdDir, dst); err != nil {
		return &bootError{Device: s.state.CD, Err: err, Hint: "sandbox.cdmount= must be a directory the new root can hold"}
	}
	s.state.CDMount = s.cfg.CDMount
	return nil
}
