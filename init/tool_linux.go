package main

import (
	"fmt"
	"os"

	"github.com/sandbox-init/sandbox-init/init/internal/status"
	"github.com/sandbox-init/sandbox-init/init/internal/watch"
)

// tool runs when sandbox-init is started as an ordinary command in the
// booted system (not PID 1): "sandbox-init status [NAME]" prints the live
// table and the snapshot's COW usage (package status); "sandbox-init watch"
// is the COW watcher PID 1 starts (package watch).
func tool(args []string) int {
	if len(args) > 0 && args[0] == "watch" {
		return watch.Main(args[1:])
	}
	if len(args) == 0 || args[0] != "status" {
		fmt.Fprintln(os.Stderr, "usage: sandbox-init status [NAME]\n       sandbox-init watch NAME INTERVAL [CONSOLES] (the COW watcher, started by PID 1)\n(as PID 1 in an initramfs, sandbox-init boots the sandbox)")
		return 2
	}
	return status.Main(args[1:])
}
