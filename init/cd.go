package main

import (
	"fmt"
	"strings"
)

// cdNotFound says why the CD search found nothing, and what to do: want is
// sandbox.cd (a /dev path, LABEL=X, UUID=U or auto), present tells whether a /dev
// path named exists, seen are the drives and disks looked at, mountErr the
// last mount attempt's error.
func cdNotFound(want string, present bool, seen []string, mountErr error) (why, hint string) {
	hint = "insert the Live CD, name the drive with sandbox.cd=/dev/sr0, or wait longer with sandbox.wait=30"
	switch {
	case strings.HasPrefix(want, "/dev/") && present:
		why = fmt.Sprintf("%s holds no ISO 9660 disc (%v)", want, mountErr)
	case strings.HasPrefix(want, "/dev/"):
		why = fmt.Sprintf("%s did not appear", want)
		hint = "check the device name (ls /sys/class/block lists what there is), or wait longer with sandbox.wait=30"
	case len(seen) == 0:
		why = "no CD drive or disk appeared"
		hint = "attach a CD drive, or add its driver to the initramfs (mklive -modules); a slow drive: sandbox.wait=30"
	case strings.HasPrefix(want, "LABEL="):
		why = fmt.Sprintf("no disc labelled %q among %s", strings.TrimPrefix(want, "LABEL="), strings.Join(seen, " "))
		hint = "insert the Live CD whose volume id is that label, or fix sandbox.cd=LABEL="
	case strings.HasPrefix(want, "UUID="):
		why = fmt.Sprintf("no disc with UUID %s among %s", strings.TrimPrefix(want, "UUID="), strings.Join(seen, " "))
		hint = "insert the Live CD this kernel and initramfs came from (blkid shows its UUID), or fix sandbox.cd=UUID="
	default:
		why = fmt.Sprintf("no drive or disk among %s holds an ISO 9660 disc", strings.Join(seen, " "))
	}
	return why, hint
}
