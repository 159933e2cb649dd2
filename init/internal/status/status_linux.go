// Package status is "sandbox-init status [NAME]", run in the booted
// system: the snapshot's live table, the root's free space, the COW
// store's use, and what state.json says of verity, the NBD medium and the
// boot chain, read from the kernel and /run/sandbox.
package status

import (
	"fmt"
	"os"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/dm"
	"github.com/sandbox-init/sandbox-init/init/internal/bootchain"
	"github.com/sandbox-init/sandbox-init/init/internal/diag"
	"github.com/sandbox-init/sandbox-init/state"
	"golang.org/x/sys/unix"
)

// Main prints the status of the snapshot args[0] names (sandbox.name as
// state.json has it, else "sandbox") and returns the exit code.
func Main(args []string) int {
	name := "sandbox"
	if len(args) > 0 {
		name = args[0]
	} else if st, err := state.Read(); err == nil && st.Params["sandbox.name"] != "" {
		name = st.Params["sandbox.name"]
	}
	c, err := dm.Open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-init:", err)
		return 1
	}
	defer c.Close()
	table, err := c.Table(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-init:", err)
		return 1
	}
	status, err := c.Status(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-init:", err)
		return 1
	}
	for _, t := range table {
		fmt.Printf("table: %s\n", t)
	}
	var sfs unix.Statfs_t
	if unix.Statfs("/", &sfs) == nil {
		fmt.Printf("root: %s free of %s\n", config.HumanBytes(sfs.Bavail*uint64(sfs.Bsize)), config.HumanBytes(sfs.Blocks*uint64(sfs.Bsize)))
	}
	for _, t := range status {
		fmt.Printf("status: %s\n", t)
		if t.Type == "snapshot" {
			st, err := dm.ParseSnapshotStatus(t.Params)
			if err != nil {
				fmt.Fprintln(os.Stderr, "sandbox-init:", err)
				return 1
			}
			fmt.Println(cowLine(st, invalidStatus))
		}
	}
	verityStatus(c, name)
	nbdStatus()
	bootChainStatus()
	return 0
}

// cowLine is the COW store's line: how full, or why it takes no more
// writes; invalid says why an invalid snapshot is (read from the kernel's
// log only then).
func cowLine(st dm.SnapshotStatus, invalid func() string) string {
	switch {
	case st.Invalid:
		return "cow: " + invalid()
	case st.Overflow:
		return "cow: FULL (new writes fail; what is there reads fine)"
	}
	return fmt.Sprintf("cow: %.1f%% used (%d of %d sectors, %d metadata)", st.Percent(), st.Used, st.Total, st.Metadata)
}

// bootChainStatus prints what verified the boot, as state.json has it.
func bootChainStatus() {
	st, err := state.Read()
	if err != nil || st.BootChain == nil {
		return
	}
	fmt.Printf("secureboot: %s\n", bootchain.Summary(*st.BootChain))
}

// verityStatus prints what dm-verity found, when the image is verified.
func verityStatus(c *dm.Client, name string) {
	st, _ := state.Read()
	ts, err := c.Status(diag.VerityName(name))
	if err != nil || len(ts) != 1 {
		if st.VerityOff != "" {
			fmt.Printf("verity: OFF (%s)\n", st.VerityOff)
		}
		return // no sandbox.verity
	}
	bad, err := dm.ParseVerityStatus(ts[0].Params)
	switch {
	case err != nil:
		fmt.Printf("verity: %v\n", err)
	case !bad && st.Verity != nil && st.Verity.Unverified != "":
		fmt.Printf("verity: OK for the base image only (every block read from it so far matched its hash tree); NOT verified: %s\n", st.Verity.Unverified)
	case !bad:
		fmt.Println("verity: OK (every block read from the image so far matched its hash tree)")
	default:
		u, _ := state.ReadUsage()
		which := "see dmesg | grep verity"
		if len(u.VerityBlocks) > 0 {
			which = strings.Join(u.VerityBlocks, ", ")
		}
		fmt.Printf("verity: CORRUPTED: %d block(s) of the image failed their check (%s): their reads fail; make the medium again\n", len(u.VerityBlocks), which)
	}
}

// invalidStatus says why the snapshot is invalid, from the kernel's log.
func invalidStatus() string {
	full, cause := diag.InvalidCause(diag.ReadKmsgAt(unix.AT_FDCWD, "/dev/kmsg"))
	switch {
	case full:
		return "INVALID (the COW store filled up: every read and write of / fails)"
	case cause == "":
		return "INVALID (every read and write of / fails; the kernel's log no longer says why: a full COW store or a failed read of the base)"
	}
	return "INVALID (a read of the base image failed: " + cause + "; a chunk could not be copied, so every read and write of / fails: the medium is damaged)"
}

// nbdStatus prints the NBD medium for sandbox-init status, as state.json
// has it.
func nbdStatus() {
	st, err := state.Read()
	if err != nil || st.NBD == nil {
		return
	}
	n := st.NBD
	fmt.Printf("nbd: %s read on demand through %s from %s (%s; reads wait %ds for a reconnect when the connection is lost)\n",
		n.URL, n.Device, n.Server, config.HumanBytes(n.Size), n.DeadConn)
}
