package mklive

// DemoInit is the demo root's /sbin/init: it shows the sandbox at work (the
// root is the snapshot, a write lands, the COW fills, the base on the CD is
// unchanged) and powers off, or opens a shell when the kernel command line
// has the word "shell".
const DemoInit = `#!/bin/sh
export PATH=/bin HOME=/root
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "sandbox-init demo: the real init runs as PID $$"
# The base image on the CD: /initrd-ext2, or the compressed container
# the kernel command line names.
base=/mnt2/initrd-ext2
for w in $(cat /proc/cmdline); do
	case "$w" in sandbox.image=*) base="/mnt2${w#sandbox.image=}" ;; esac
done
say "the root file system is the device-mapper snapshot"
grep -E ' / | /mnt2 | squashfs ' /proc/mounts
df -h /
say "the snapshot, read back from the kernel"
sandbox-init status
say "the base image on the CD ($base), before any write"
before=$(sha256sum "$base" | cut -d' ' -f1)
echo "sha256 $before"
say "writing into the sandbox: a file, and 8 MiB of data"
echo "written at $(cat /proc/uptime | cut -d' ' -f1)s of uptime" >/root/hello.txt
cat /root/hello.txt
dd if=/dev/urandom of=/root/data bs=1M count=8 2>&1 | tail -n 1
sync
sandbox-init status
say "the base image on the CD, after the writes"
after=$(sha256sum "$base" | cut -d' ' -f1)
echo "sha256 $after"
if [ "$before" = "$after" ]; then echo "BASE UNCHANGED: the writes live only in RAM"; else echo "BASE CHANGED"; fi
for w in $(cat /proc/cmdline); do
	if [ "$w" = shell ]; then
		say "a shell inside the sandbox: write anything, nothing reaches the CD; exit to power off"
		setsid cttyhack sh -l
	fi
done
say "powering off: the sandbox goes poof"
poweroff -f
`
