package main

import (
	"fmt"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// cdNotFound says why the CD search found nothing, and what to do: want is
// sandbox.cd (a /dev path, LABEL=X, UUID=U or auto), present tells whether a /dev
// path named exists, seen are the drives and disks looked at, mountErr the
// last mount attempt's error.
func cdNotFound(want config.DevRef, present bool, seen []string, mountErr error) (why, hint string) {
	hint = "insert the Live CD, name the drive with sandbox.cd=/dev/sr0, or wait longer with sandbox.wait=30"
	switch {
	case want.IsPath() && present:
		why = fmt.Sprintf("%s holds no ISO 9660 disc (%v)", want, mountErr)
	case want.IsPath():
		why = fmt.Sprintf("%s did not appear", want)
		hint = "check the device name (ls /sys/class/block lists what there is), or wait longer with sandbox.wait=30"
	case len(seen) == 0:
		why = "no CD drive or disk appeared"
		hint = "attach a CD drive, or add its driver to the initramfs (mklive -modules); a slow drive: sandbox.wait=30"
	case want.Kind == config.RefLabel:
		why = fmt.Sprintf("no disc labelled %q among %s", want.Value, strings.Join(seen, " "))
		hint = "insert the Live CD whose volume id is that label, or fix sandbox.cd=LABEL="
	case want.Kind == config.RefUUID:
		why = fmt.Sprintf("no disc with UUID %s among %s", want.Value, strings.Join(seen, " "))
		hint = "insert the Live CD this kernel and initramfs came from (blkid shows its UUID), or fix sandbox.cd=UUID="
	default:
		why = fmt.Sprintf("no drive or disk among %s holds an ISO 9660 disc", strings.Join(seen, " "))
	}
	return why, hint
}
