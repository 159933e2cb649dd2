package main

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

// tool runs when sandbox-init is started as an ordinary command in the
// booted system (not PID 1): "sandbox-init status [NAME]" prints the live
// table and the snapshot's COW usage, read from the kernel.
func tool(args []string) int {
	if len(args) > 0 && args[0] == "watch" {
		return watch(args[1:])
	}
	if len(args) == 0 || args[0] != "status" {
		fmt.Fprintln(os.Stderr, "usage: sandbox-init status [NAME]\n       sandbox-init watch NAME INTERVAL [CONSOLES] (the COW watcher, started by PID 1)\n(as PID 1 in an initramfs, sandbox-init boots the sandbox)")
		return 2
	}
	name := "sandbox"
	if len(args) > 1 {
		name = args[1]
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
			switch {
			case st.Invalid:
				fmt.Println("cow: " + invalidStatus())
			case st.Overflow:
				fmt.Println("cow: FULL (new writes fail; what is there reads fine)")
			default:
				fmt.Printf("cow: %.1f%% used (%d of %d sectors, %d metadata)\n", st.Percent(), st.Used, st.Total, st.Metadata)
			}
		}
	}
	verityStatus(c, name)
	nbdStatus()
	bootChainStatus()
	return 0
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
