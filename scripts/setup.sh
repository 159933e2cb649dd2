#!/usr/bin/env bash
# setup.sh: install what sandbox-init's builds and tests need on a Debian
# machine, and fetch the test kernel into the cache. Idempotent: a second run
# installs nothing and downloads nothing.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SANDBOX_CACHE:-$REPO/.cache}
PKGS=(qemu-system-x86 xorriso e2fsprogs kmod cpio busybox-static isolinux syslinux-common debootstrap
	grub-efi-amd64-bin grub-common mtools ovmf)

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The test kernel: Debian's cloud kernel, unpacked (not installed) into the
# cache, with modules.dep generated because the package does not ship it.
mkdir -p "$CACHE"
if [ ! -s "$CACHE/kernel/version" ]; then
	kpkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
	pkg=$(kpkg)
	if [ -z "$pkg" ]; then
		$SUDO apt-get update -qq # package lists missing or stale
		pkg=$(kpkg)
	fi
	[ -n "$pkg" ] || { echo "setup: cannot find the kernel package behind linux-image-cloud-amd64 (apt-get update?)" >&2; exit 1; }
	ver=${pkg#linux-image-}
	echo "setup: fetching $pkg"
	tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
	chmod 755 "$tmp" # apt-get download runs as _apt where it can
	(cd "$tmp" && apt-get download -qq "$pkg")
	rm -rf "$CACHE/kernel"
	mkdir -p "$CACHE/kernel/root"
	dpkg -x "$tmp"/*.deb "$CACHE/kernel/root"
	rm -rf "$tmp"
	depmod -b "$CACHE/kernel/root" "$ver"
	ln -sf "root/boot/vmlinuz-$ver" "$CACHE/kernel/vmlinuz"
	echo "$ver" >"$CACHE/kernel/version"
fi
echo "setup: kernel $(cat "$CACHE/kernel/version") in $CACHE/kernel"

# A real distribution root for the systemd VM test: Debian's minimal base
# with systemd as /sbin/init and udev (systemd waits for devices udev
# announces), made once (about a minute and 50 MB of
# packages; SANDBOX_MIRROR picks the mirror).
if [ ! -e "$CACHE/debian-root/.complete" ]; then
	echo "setup: debootstrap of a minimal Debian with systemd"
	$SUDO rm -rf "$CACHE/debian-root"
	$SUDO debootstrap --variant=minbase --include=systemd-sysv,udev bookworm "$CACHE/debian-root" \
		"${SANDBOX_MIRROR:-http://deb.debian.org/debian}" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$CACHE/debootstrap.log" >&2; echo "setup: debootstrap failed (log: $CACHE/debootstrap.log)" >&2; exit 1; }
	$SUDO touch "$CACHE/debian-root/.complete"
fi
echo "setup: Debian root in $CACHE/debian-root"
