package watch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sandbox-init/sandbox-init/dm"
	"github.com/sandbox-init/sandbox-init/init/internal/diag"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/state"
	"golang.org/x/sys/unix"
)

// The watcher's look at the verity device once it runs (what the kernel's
// log says of it is in internal/diag).

// verityWatch is the watcher's look at the verity device: when dm-verity
// reports corruption, the blocks are read from the kernel's log and named
// on every console.
type verityWatch struct {
	none      bool // there is no verity device
	corrupted bool
	blocks    []string
	seen      map[string]bool
	kmsg      int // fd on /dev/kmsg, non-blocking; 0 until opened
	image     string
}

// look checks the verity device of the snapshot name once.
func (v *verityWatch) look(ctl *dm.Client, name string, say func(int, string, ...any)) {
	if v.none {
		return
	}
	ts, err := ctl.Status(diag.VerityName(name))
	if errors.Is(err, unix.ENXIO) {
		v.none = true // made before the snapshot, so never: no sandbox.verity
		return
	}
	if err != nil || len(ts) != 1 {
		return
	}
	if bad, _ := dm.ParseVerityStatus(ts[0].Params); !bad {
		return
	}
	if v.kmsg == 0 {
		fd, err := unix.Openat(FdDev, "kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			fd = -1
		}
		v.kmsg, v.seen, v.image = fd, map[string]bool{}, imageOfState()
	}
	var fresh []string
	if v.kmsg > 0 {
		fresh = diag.CorruptBlocks(diag.ReadKmsg(v.kmsg), v.seen)
	}
	if v.corrupted && len(fresh) == 0 {
		return
	}
	v.blocks = append(v.blocks, fresh...)
	what := "a block (the kernel log names it)"
	if len(fresh) > 0 {
		what = strings.Join(fresh[:min(len(fresh), 8)], ", ")
		if len(fresh) > 8 {
			what += fmt.Sprintf(" and %d more", len(fresh)-8)
		}
	}
	v.corrupted = true
	say(klog.LevelFail, "INTEGRITY ERROR: the root image %s is corrupted: %s failed dm-verity's check, and reading it fails with an I/O error "+
		"(nothing unchecked is ever read). The medium is damaged or was altered: make it again from the ISO. "+
		"sandbox-init status lists the blocks.", v.image, what)
}

// imageOfState names the image for the watcher's messages, from
// state.json: "/LiveOS/squashfs.img on /dev/sr0".
func imageOfState() string {
	b, err := readRunFile("state.json")
	if err != nil {
		return "(see /run/sandbox/state.json)"
	}
	st, err := state.Parse(b)
	if err != nil {
		return "(see /run/sandbox/state.json)"
	}
	return st.Params["sandbox.image"] + " on " + st.CD
}

// readRunFile reads a file of /run/sandbox through the watcher's fd.
func readRunFile(name string) ([]byte, error) {
	fd, err := unix.Openat(FdRunDir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
