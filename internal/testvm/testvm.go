// Package testvm is the one harness of sandbox-init's VM tests and
// benchmark: it finds the kernels scripts/setup.sh fetched, builds the
// images they boot (the static init, a kernel's initramfs, a busybox test
// root with the caller's /sbin/init as an ext2 image on a data CD),
// attaches the test media to the bus a test names (IDE, SATA, virtio, USB,
// NVMe, SD), and boots QEMU (TCG: KVM does not work on the machines this
// project is tested on), returning what the serial console and the screen
// showed: Boot in a test, Run outside one.
package testvm

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sandbox-init/sandbox-init/mklive"
)

// The kernels scripts/setup.sh unpacks into the cache, by name.
const (
	Cloud12 = "deb12-cloud" // Debian 12's cloud kernel: ext4 built in, no USB, no AHCI
	Std12   = "deb12"       // Debian 12's standard kernel: ext4, AHCI, USB as modules
	Std13   = "deb13"       // Debian 13's: modules under usr/lib/modules, .ko.xz
)

// Kernels are the names of every kernel the tests boot.
var Kernels = []string{Cloud12, Std12, Std13}

// RepoRoot finds the module root (go.mod) from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no go.mod above %s", dir)
}

// CacheDir is where scripts/setup.sh leaves kernels and the Debian root:
// $SANDBOX_CACHE, or .cache in the repository.
func CacheDir(repo string) string {
	if c := os.Getenv("SANDBOX_CACHE"); c != "" {
		return c
	}
	return filepath.Join(repo, ".cache")
}

// Kernel finds a kernel of the cache by name.
func Kernel(cache, name string) (mklive.Kernel, error) {
	k, err := mklive.FindKernel(filepath.Join(cache, "kernels", name, "root"), "")
	if err != nil {
		return k, fmt.Errorf("kernel %s: %w (scripts/setup.sh fetches it)", name, err)
	}
	return k, nil
}
