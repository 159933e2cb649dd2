package vmtests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// containerCD makes a data CD holding a squashfs container (compressed
// with comp) at /LiveOS/squashfs.img, whose files are given as name →
// source file (an empty source makes an empty directory's worth: none).
func containerCD(t *testing.T, comp string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	for name, src := range files {
		dst := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(src, dst); err != nil {
			copyFile(t, src, dst)
		}
	}
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	sq := filepath.Join(dir, "squashfs.img")
	if err := hostcmd.Run("mksquashfs", tree, sq, "-comp", comp, "-noappend", "-no-xattrs", "-quiet"); err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(dir, "cd.iso")
	stage := filepath.Join(dir, "stage", "LiveOS")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(sq, filepath.Join(stage, "squashfs.img")); err != nil {
		t.Fatal(err)
	}
	if err := hostcmd.Run("xorriso", "-as", "mkisofs", "-quiet", "-o", iso, "-V", "CONTAINER", "-r", filepath.Dir(stage)); err != nil {
		t.Fatal(err)
	}
	return iso
}

// TestContainer boots root images kept in a squashfs container on the CD:
// mklive's and Fedora's LiveOS layout (LiveOS/rootfs.img) in zstd and xz,
// and older Fedora's (LiveOS/ext3fs.img), on the standard kernels, where
// squashfs is a module.
func TestContainer(t *testing.T) {
	for _, tc := range []struct {
		name, kernel, comp, inner string
	}{
		{"zstd", testvm.Std12, "zstd", "LiveOS/rootfs.img"},
		{"xz", testvm.Std13, "xz", "LiveOS/rootfs.img"},
		{"fedora-ext3fs", testvm.Cloud12, "xz", "LiveOS/ext3fs.img"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cd := containerCD(t, tc.comp, map[string]string{tc.inner: built.rootImage})
			c := bootVM(t, vm{kernel: tc.kernel, append: []string{"sandbox.image=/LiveOS/squashfs.img"},
				drives: []testvm.Drive{{File: cd, Bus: testvm.IDE, CD: true}}})
			if got := c.mustGuest(t, "root"); got != "/dev/mapper/sandbox ext4 rw" {
				t.Errorf("root = %q", got)
			}
			if got := c.mustGuest(t, "bigwrite"); got != "4194304" {
				t.Errorf("bigwrite = %q", got)
			}
			if !c.contains("holds " + tc.inner + ", attached read-only to /dev/loop1") {
				t.Errorf("the image inside the container was not attached")
			}
			if st := c.guestState(t); st.Container != "/LiveOS/squashfs.img" || st.ContainerLoop != "/dev/loop0" {
				t.Errorf("state.json: container %q, container_loop %q", st.Container, st.ContainerLoop)
			}
			// Nothing of the container's mount shows in the booted system.
			if got := c.mustGuest(t, "live"); got != "" {
				t.Errorf("the container's mount shows: %q", got)
			}
		})
	}
}

// TestBadContainers: each fails in phase "image" with a message that
// names the problem, and the failure action; never a panic.
func TestBadContainers(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("not an image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := containerCD(t, "zstd", map[string]string{"LiveOS/notes.txt": other})
	good := containerCD(t, "zstd", map[string]string{"LiveOS/rootfs.img": built.rootImage})
	truncated := truncatedContainerCD(t, good)
	for _, tc := range []struct {
		name, cd, phase string
		expect          []string
	}{
		{"NoImageInside", empty, "image", []string{"holds no root image", "it has: /LiveOS"}},
		{"Truncated", truncated, "image", []string{"device: /LiveOS/squashfs.img", "rebuild the Live CD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			expectFailure(t, vm{kernel: testvm.Std12, append: []string{"sandbox.image=/LiveOS/squashfs.img"},
				drives: []testvm.Drive{{File: tc.cd, Bus: testvm.IDE, CD: true}}}, tc.phase, tc.expect...)
		})
	}
}

// truncatedContainerCD remakes a container CD with its squashfs cut to a
// tenth: the superblock is there, the rest is not.
func truncatedContainerCD(t *testing.T, iso string) string {
	t.Helper()
	dir := t.TempDir()
	if err := hostcmd.Run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/LiveOS", filepath.Join(dir, "stage", "LiveOS")); err != nil {
		t.Fatal(err)
	}
	sq := filepath.Join(dir, "stage", "LiveOS", "squashfs.img")
	if err := os.Chmod(sq, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(sq)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sq, st.Size()/10); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cd.iso")
	if err := hostcmd.Run("xorriso", "-as", "mkisofs", "-quiet", "-o", out, "-V", "CONTAINER", "-r", filepath.Join(dir, "stage")); err != nil {
		t.Fatal(err)
	}
	return out
}
