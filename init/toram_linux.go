package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"golang.org/x/sys/unix"
)

// toramDir holds the image's copy in RAM: a tmpfs of its own, under /run
// so that it moves into the booted system with /run.
const toramDir = "/run/sandbox/toram"

// toRAM copies the root image, or its compressed container, from the CD
// into RAM when sandbox.toram asks and the memory allows (toramDecision),
// and returns the copy ("" for none): the snapshot then reads nothing from
// the medium, which releaseMedium lets go of.
func toRAM(s *sandbox) (string, error) {
	src := filepath.Join(cdDir, s.cfg.Image)
	st, err := os.Stat(src)
	if s.cfg.ToRAM == "no" || err != nil || !st.Mode().IsRegular() {
		return "", nil // nothing to copy; the image step says what is wrong
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "", &bootError{Device: "/proc/meminfo", Err: err}
	}
	avail, err := config.MemField(string(b), "MemAvailable")
	if err != nil {
		return "", &bootError{Device: "/proc/meminfo", Err: err}
	}
	cow := uint64(0)
	if s.cfg.COW == "ram0" || s.cfg.COW == "zram" {
		cow = s.state.COWBytes
	}
	// The hash tree goes along (sandbox.verity): the copy is checked as
	// it is read, as the medium would have been. It takes RAM too.
	var tree int64
	if s.cfg.Verity != "" {
		if tst, err := os.Stat(src + ".verity"); err == nil {
			tree = tst.Size()
		}
	}
	copyIt, fail, why := toramDecision(s.cfg.ToRAM, uint64(st.Size()), uint64(tree), cow, avail)
	switch {
	case fail:
		return "", &bootError{Device: s.cfg.Image, Err: errors.New(why),
			Hint: "boot with sandbox.toram=auto (it falls back to the medium) or no, give sandbox.cowsize= less, or the machine more RAM"}
	case !copyIt:
		s.log.Warnf("WARNING: toram: %s: running from the medium (sandbox.toram=auto)", why)
		return "", nil
	}
	dst := filepath.Join(toramDir, filepath.Base(s.cfg.Image))
	if err := mountutil.Mount("tmpfs", toramDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV,
		fmt.Sprintf("mode=0755,size=%d", st.Size()+tree+1<<20)); err != nil {
		return "", &bootError{Device: toramDir, Err: err}
	}
	err = copyImage(s, src, dst, st.Size())
	if err == nil && tree > 0 {
		err = copyImage(s, src+".verity", dst+".verity", tree)
	}
	if err != nil {
		_ = unix.Unmount(toramDir, unix.MNT_DETACH)
		return "", &bootError{Device: s.cfg.Image, Err: err, Hint: "the medium may be damaged (dmesg says why); sandbox.toram=no runs from it without the copy"}
	}
	s.state.ImageInRAM = dst
	return dst, nil
}

// copyImage copies size bytes from src to dst, saying how far it is on
// every console each few seconds: a DVD's gigabyte takes minutes.
func copyImage(s *sandbox, src, dst string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	start, last := time.Now(), time.Now()
	buf := make([]byte, 4<<20)
	var done int64
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				out.Close()
				return fmt.Errorf("copy to RAM: %w", err)
			}
			done += int64(n)
			if time.Since(last) >= 2*time.Second {
				s.log.Printf("toram: %d%% (%s of %s)", done*100/max(size, 1), config.HumanBytes(uint64(done)), config.HumanBytes(uint64(size)))
				last = time.Now()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return fmt.Errorf("read %s: %w", src, rerr)
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	if done != size {
		return fmt.Errorf("copied %d of %d bytes", done, size)
	}
	s.log.Printf("toram: %s copied into RAM (%s) in %v", strings.TrimPrefix(src, cdDir), config.HumanBytes(uint64(size)), time.Since(start).Round(time.Millisecond))
	return nil
}

// releaseMedium lets go of the CD once the image runs from RAM: unmounted,
// so the kernel unlocks the drive's door, and the disc can be ejected while
// the system runs.
func releaseMedium(s *sandbox) error {
	if s.state.ImageInRAM == "" {
		return nil
	}
	if err := unix.Unmount(cdDir, 0); err != nil {
		s.log.Warnf("WARNING: toram: the CD stays mounted (%v): it cannot be ejected", err)
		return nil
	}
	s.state.CDReleased = true
	what := "the disc can be ejected"
	if !strings.Contains(s.state.CD, "/sr") {
		what = "the medium can be removed"
	}
	if s.state.ISODisk != "" {
		// The stick that held the ISO file: detached now, gone for good
		// once the ISO's loop device lets go of its file (autoclear).
		if err := unix.Unmount(isoDiskDir, unix.MNT_DETACH); err != nil {
			s.log.Warnf("WARNING: toram: %s stays mounted on %s: %v", s.state.ISODisk, isoDiskDir, err)
		}
	}
	s.log.Printf("toram: %s released: the system runs from RAM; %s", s.state.CD, what)
	return nil
}
