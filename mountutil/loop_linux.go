package mountutil

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Loop is an attached loop device. Its fd must stay open until something
// else (device-mapper) holds the device: it is set up with autoclear, so it
// detaches when its last opener goes away and nothing is left to clean.
type Loop struct {
	Path string
	f    *os.File
}

// Close drops sandbox-init's hold on the loop device.
func (l *Loop) Close() error { return l.f.Close() }

// LoopAttach attaches file to a free loop device, read-only at both ends:
// the file is opened O_RDONLY and the loop device gets LO_FLAGS_READ_ONLY, so
// no write can reach the base image through it.
func LoopAttach(file string) (*Loop, error) {
	img, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	if st, err := img.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", file)
	} else if st.Size() < 1024 {
		return nil, fmt.Errorf("%s is %d bytes: too small for a file system", file, st.Size())
	}
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("/dev/loop-control: %w (is the loop module loaded?)", err)
	}
	defer ctl.Close()
	for try := 0; try < 8; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("LOOP_CTL_GET_FREE: %w", err)
		}
		path := fmt.Sprintf("/dev/loop%d", n)
		dev, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		cfg := unix.LoopConfig{Fd: uint32(img.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY | unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], file)
		err = unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) {
			dev.Close() // raced with another user of loopN: take the next
			continue
		}
		if err != nil {
			dev.Close()
			return nil, fmt.Errorf("LOOP_CONFIGURE %s on %s: %w", file, path, err)
		}
		return &Loop{Path: path, f: dev}, nil
	}
	return nil, errors.New("no free loop device after 8 tries")
}
