package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sandbox-init/sandbox-init/mountutil"
	"golang.org/x/sys/unix"
)

// containerDir is where the compressed container is mounted while the
// image inside it is attached.
const containerDir = "/live"

// containerImages are where a LiveOS container holds its root image:
// mklive's and Fedora's layout (LiveOS/rootfs.img), older Fedora's
// (LiveOS/ext3fs.img), and a bare image at the container's top.
var containerImages = []string{"LiveOS/rootfs.img", "LiveOS/ext3fs.img", "rootfs.img"}

// isSquashfs tells a compressed container from a plain image by its magic.
func isSquashfs(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4)
	_, err = f.ReadAt(b, 0)
	return err == nil && mountutil.FSType(b) == "squashfs"
}

// attachContainer attaches the root image inside a squashfs container (the
// LiveOS layout: the image compressed on the medium, its free space costing
// nothing): the container, on dev (its loop device outerLoop, or the
// verity device over it), mounted read-only, the image in it loop-attached
// read-only as the snapshot's origin. The container's
// mount is then detached from the tree: the image's loop device keeps it
// alive, and nothing of it shows in the booted system.
func attachContainer(s *sandbox, dev, outerLoop, said string) (string, error) {
	rel := s.cfg.Image
	if err := s.loadFS(rel, "squashfs"); err != nil {
		return "", err
	}
	if err := mountutil.Mount(dev, containerDir, "squashfs", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil {
		return "", &bootError{Device: rel, Err: err, Hint: "the squashfs container is damaged or truncated (dmesg says why): rebuild the Live CD with mklive"}
	}
	inner := ""
	for _, name := range containerImages {
		if st, err := os.Stat(filepath.Join(containerDir, name)); err == nil && st.Mode().IsRegular() {
			inner = name
			break
		}
	}
	if inner == "" {
		err := fmt.Errorf("the container %s holds no root image (looked for %v); it has: %s", rel, containerImages, listDir(containerDir))
		_ = unix.Unmount(containerDir, 0)
		return "", &bootError{Device: rel, Err: err, Hint: "build the container with mklive (LiveOS/rootfs.img inside LiveOS/squashfs.img), or point sandbox.image= at a plain image"}
	}
	loop, err := mountutil.LoopAttach(filepath.Join(containerDir, inner))
	if err != nil {
		_ = unix.Unmount(containerDir, 0)
		return "", &bootError{Device: rel + ":" + inner, Err: err, Hint: "the image inside the container is broken: rebuild the Live CD with mklive"}
	}
	s.hold = append(s.hold, loop)
	if err := unix.Unmount(containerDir, unix.MNT_DETACH); err != nil {
		s.log.Warnf("WARNING: %s stays mounted: %v", containerDir, err)
	}
	s.state.Container, s.state.ContainerLoop = rel, outerLoop
	s.state.Loop, s.state.Origin = loop.Path, loop.Path
	s.log.Printf("%scontainer %s (squashfs on %s) holds %s, attached read-only to %s", said, rel, dev, inner, loop.Path)
	return loop.Path, nil
}

func listDir(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	var names []string
	for i, e := range ents {
		if i == 20 {
			names = append(names, "…")
			break
		}
		names = append(names, "/"+e.Name())
	}
	if len(names) == 0 {
		return "(nothing)"
	}
	return strings.Join(names, " ")
}
