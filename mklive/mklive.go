// Package mklive builds what a sandbox-init Live CD is made of: the root
// image (mke2fs -d), by default a sparse ext4 image with room to write in a
// compressed squashfs container (mksquashfs; Fedora's LiveOS layout), the
// initramfs (our static init plus exactly the kernel modules it needs) and
// the bootable ISO (isolinux, xorriso). It is the how-to's "Making a Live
// CD" section as code.
package mklive

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// BuildInit compiles sandbox-init as a static binary. repo is the module
// root. tags are build tags: TLSTag for an init that does https://.
func BuildInit(repo, out string, tags ...string) error {
	if _, err := hostcmd.Need("go"); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags="+strings.Join(tags, ","), "-o", out, "./init")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./init: %w\n%s", err, b)
	}
	return nil
}
