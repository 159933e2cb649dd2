package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sandbox-init/sandbox-init/mklive"
)

// liveLabel is the label of bench boot's Live CD.
const liveLabel = "SANDBOXLIVE"

// reISOCmdline is mklive's log line that names the ISO's kernel command
// line.
var reISOCmdline = regexp.MustCompile(`kernel command line: (.*)$`)

// buildLive makes bench boot's second medium: mklive's default Live CD
// (the root image in a zstd container, dm-verity on, found by its UUID) of
// the same test root the plain CD carries as /initrd-ext2 (the COW size
// comes from the boots' own command line, as the recipe's). It returns the ISO and the sandbox.* words of the
// ISO's own kernel command line, which the boots take as they are: the
// CD's UUID, the container's path and the root hash.
func buildLive(img *images) (iso string, words []string, err error) {
	iso = filepath.Join(img.Dir, "live.iso")
	var log []string
	err = mklive.LiveCD(mklive.LiveCDSpec{Kernel: img.kernel, Init: img.cdInit, Root: filepath.Join(img.Dir, "tree"),
		Container: "zstd", Out: iso, Label: liveLabel, // mklive iso's defaults
		Log: func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }})
	if err != nil {
		return "", nil, fmt.Errorf("building the Live CD: %w", err)
	}
	for _, l := range log {
		if m := reISOCmdline.FindStringSubmatch(l); m != nil {
			for _, w := range strings.Fields(m[1]) {
				if strings.HasPrefix(w, "sandbox.") {
					words = append(words, w)
				}
			}
		}
	}
	if !hasWord(words, "sandbox.verity=") || !hasWord(words, "sandbox.cd=UUID=") {
		return "", nil, fmt.Errorf("the Live CD's command line has no sandbox.verity= or sandbox.cd=UUID=: %q (mklive's log: %s)", words, strings.Join(log, "; "))
	}
	return iso, words, nil
}

func hasWord(words []string, prefix string) bool {
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			return true
		}
	}
	return false
}
