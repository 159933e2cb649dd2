#!/usr/bin/env bash
# setup.sh: install what sandbox-init's builds and tests need on a Debian 12
# machine, and fetch the test kernels and a Debian root into the cache.
# Idempotent: a second run installs nothing and downloads nothing.
#
# "setup.sh --bench" also makes the build root of the benchmark's dracut
# (bench system, issue #15), see dracut_root below.
#
# The cache ($SANDBOX_CACHE, default .cache/ in the repository):
#   kernels/NAME/root     a kernel package unpacked with dpkg -x (not
#                         installed), modules.dep made by depmod
#   kernels/NAME/version  the kernel release, written last: a kernel without
#                         it is fetched again
#   kernels/NAME/vmlinuz  symlink to the kernel image inside root
#   kernel                symlink to kernels/deb12-cloud
#   apt-trixie/           a private apt configuration that reaches Debian 13
#   secureboot/root       Debian's signed UEFI boot loaders unpacked with dpkg -x
#                         (not installed: they would touch this machine's boot):
#                         shim-signed, shim-helpers-amd64-signed,
#                         grub-efi-amd64-signed, for mklive's Secure Boot ISOs
#   secureboot/versions   their package versions, written last
#   nginx/root            Debian's nginx unpacked with dpkg -x (not installed),
#                         for the network boot's VM tests; nginx/version
#   debian-root/          a minimal Debian 12 with systemd (debootstrap)
#   dracut/debs/          (--bench) Debian 12's dracut packages, downloaded
#   dracut/root/          (--bench) debian-root hard-linked, with dracut,
#                         dmsquash-live and their tools unpacked into it and
#                         the deb12 kernel's modules: dracut runs chrooted
#                         there, never on this machine's own /boot
# with NAME one of
#   deb12-cloud  Debian 12's cloud kernel (linux-image-cloud-amd64)
#   deb12        Debian 12's standard kernel (linux-image-amd64)
#   deb13        Debian 13's standard kernel (trixie's linux-image-amd64),
#                modules under usr/lib/modules, each .ko.xz
#
# Packages come from the Debian archive that this machine's apt uses for
# bookworm; SANDBOX_MIRROR (a URI) overrides it. Debian 13 is reached through
# $CACHE/apt-trixie only: /etc/apt and the machine's package state are never
# changed for it, and its Release file is verified with the machine's
# debian-archive-keyring.
set -Eeuo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SANDBOX_CACHE:-$REPO/.cache}
PKGS=(qemu-system-x86 zstd xz-utils xorriso e2fsprogs kmod cpio busybox-static isolinux syslinux-common debootstrap
	grub-efi-amd64-bin grub-common mtools ovmf squashfs-tools cryptsetup-bin
	systemd-boot-efi sbsigntool efitools binutils openssl ipxe-qemu pxelinux nbdkit dnsmasq-base)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

die() {
	echo "setup: $*" >&2
	exit 1
}
trap 'echo "setup: failed at scripts/setup.sh line $LINENO; see the messages above, fix the cause and run it again (it resumes where it stopped)" >&2' ERR

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
updated=
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq
	updated=1
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# apt_update: refresh the machine's package lists, once per run (they may be
# missing, as on a fresh container, or stale).
apt_update() {
	[ -z "$updated" ] || return 1
	echo "setup: apt-get update (package lists missing or stale)"
	$SUDO apt-get update -qq || die "apt-get update failed: check the network and /etc/apt/sources.list*"
	updated=1
}

# debian_mirror: the URI from which this machine's apt fetches bookworm's main
# component of the Debian archive itself (Origin: Debian; not -security,
# -updates nor a third-party repository), read by apt itself from
# /etc/apt/sources.list and sources.list.d/*.list, *.sources.
debian_mirror() {
	# shellcheck disable=SC2016 # $(...) are apt's format fields
	apt-get indextargets --format '$(TARGET_OF)|$(IDENTIFIER)|$(RELEASE)|$(CODENAME)|$(COMPONENT)|$(ORIGIN)|$(REPO_URI)' 2>/dev/null |
		awk -F'|' '$1 == "deb" && $2 == "Packages" && ($3 == "bookworm" || $4 == "bookworm") && $5 == "main" && $6 == "Debian" && !uri { uri = $7 } END { print uri }'
}
MIRROR=
mirror() {
	[ -z "$MIRROR" ] || return 0
	MIRROR=${SANDBOX_MIRROR:-}
	[ -n "$MIRROR" ] || MIRROR=$(debian_mirror)
	[ -n "$MIRROR" ] || { apt_update && MIRROR=$(debian_mirror); } || true
	[ -n "$MIRROR" ] || die "no apt source for Debian's bookworm main found in /etc/apt/sources.list*; add one, or set SANDBOX_MIRROR to a Debian mirror's URI"
}

mkdir -p "$CACHE/kernels"
tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

# The private apt configuration for Debian 13 (trixie): the machine's Debian
# mirror with suite trixie, the machine's Debian archive keyring, its own
# lists, caches and an empty dpkg status; the machine's update hooks (which
# would refresh its own AppStream and PackageKit caches) are cleared.
TRIXIE=$CACHE/apt-trixie
trixie_apt() {
	mirror
	[ -s "$KEYRING" ] || die "$KEYRING is missing: apt-get install debian-archive-keyring"
	mkdir -p "$TRIXIE/lists/partial" "$TRIXIE/cache/archives/partial" "$TRIXIE/empty.d"
	: >"$TRIXIE/status"
	echo "deb [signed-by=$KEYRING] $MIRROR trixie main" >"$TRIXIE/sources.list"
	cat >"$TRIXIE/apt.conf" <<-EOF
		Dir::Etc::SourceList "$TRIXIE/sources.list";
		Dir::Etc::SourceParts "$TRIXIE/empty.d";
		Dir::Etc::Preferences "$TRIXIE/empty.d/preferences";
		Dir::Etc::PreferencesParts "$TRIXIE/empty.d";
		Dir::State::Lists "$TRIXIE/lists";
		Dir::State::status "$TRIXIE/status";
		Dir::State::extended_states "$TRIXIE/extended_states";
		Dir::Cache "$TRIXIE/cache";
		Acquire::Languages "none";
		Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
		Acquire::AllowInsecureRepositories "false";
		Acquire::AllowDowngradeToInsecureRepositories "false";
		APT::Get::AllowUnauthenticated "false";
		#clear APT::Update::Pre-Invoke;
		#clear APT::Update::Post-Invoke;
		#clear APT::Update::Post-Invoke-Success;
	EOF
	echo "setup: apt-get update of Debian 13 (trixie) from $MIRROR into $TRIXIE"
	apt-get -c "$TRIXIE/apt.conf" update -qq --error-on=any ||
		die "apt-get update of trixie failed (see above; the Release file must verify with $KEYRING): check the network, or set SANDBOX_MIRROR to a Debian mirror's URI"
}

# fetch_kernel NAME META [APT ARGS...]: unpack the kernel package that the
# metapackage META depends on into $CACHE/kernels/NAME, asking apt-get and
# apt-cache with APT ARGS (none: the machine's own configuration).
fetch_kernel() {
	local name=$1 meta=$2
	shift 2
	local dir=$CACHE/kernels/$name pkg ver size mods
	pkg=$(apt-cache "$@" depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ && !p {p = $2} END {print p}') || true
	if [ -z "$pkg" ] && [ $# = 0 ] && apt_update; then
		pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ && !p {p = $2} END {print p}') || true
	fi
	[ -n "$pkg" ] || die "cannot find the kernel package behind $meta${*:+ (apt-cache $*)}: check the apt sources and run apt-get update"
	ver=${pkg#linux-image-}
	size=$(apt-cache "$@" show --no-all-versions "$pkg" |
		awk '/^Size:/{s=$2} /^Installed-Size:/{i=$2} END{printf "%d MB to download, %d MB unpacked", s/1e6+.5, i*1024/1e6+.5}')
	echo "setup: fetching $name: $pkg ($size)"
	tmp=$(mktemp -d "$CACHE/kernels/.download.XXXXXX")
	# apt-get download fetches as user _apt where it can, into a directory
	# _apt may write; elsewhere it warns and fetches as root.
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
	if ! (cd "$tmp" && apt-get "$@" download -q=2 "$pkg"); then
		# The lists may name a version the mirror no longer has.
		if ! { [ $# = 0 ] && apt_update && (cd "$tmp" && apt-get download -q=2 "$pkg"); }; then
			die "download of $pkg failed: check the network and apt sources (apt-get update), then run scripts/setup.sh again"
		fi
	fi
	rm -rf "$dir"
	mkdir -p "$dir/root"
	dpkg -x "$tmp/${pkg}_"*.deb "$dir/root"
	rm -rf "$tmp"
	tmp=
	[ -f "$dir/root/boot/vmlinuz-$ver" ] || die "$pkg has no boot/vmlinuz-$ver"
	# depmod -b BASE looks in BASE/lib/modules: BASE is the root for Debian
	# 12's packages, root/usr for Debian 13's (modules in usr/lib/modules).
	if [ -d "$dir/root/lib/modules/$ver" ]; then
		mods=$dir/root
	elif [ -d "$dir/root/usr/lib/modules/$ver" ]; then
		mods=$dir/root/usr
	else
		die "$pkg has neither lib/modules/$ver nor usr/lib/modules/$ver"
	fi
	depmod -b "$mods" "$ver" || die "depmod -b $mods $ver failed"
	if [ ! -s "$mods/lib/modules/$ver/modules.dep" ] || [ ! -e "$mods/lib/modules/$ver/modules.softdep" ]; then
		die "depmod -b $mods $ver made no modules.dep or modules.softdep in $mods/lib/modules/$ver"
	fi
	ln -sfn "root/boot/vmlinuz-$ver" "$dir/vmlinuz"
	echo "$ver" >"$dir/version"
	echo "setup: $name: kernel $ver, $(du -sh "$dir/root" | cut -f1) unpacked"
}

# Earlier layouts kept the cloud kernel in $CACHE/kernel itself: move it
# rather than download it again (a half-done one, without version, goes).
if [ -d "$CACHE/kernel" ] && [ ! -L "$CACHE/kernel" ]; then
	if [ -s "$CACHE/kernel/version" ] && [ ! -s "$CACHE/kernels/deb12-cloud/version" ]; then
		echo "setup: moving $CACHE/kernel to $CACHE/kernels/deb12-cloud"
		rm -rf "$CACHE/kernels/deb12-cloud"
		mv "$CACHE/kernel" "$CACHE/kernels/deb12-cloud"
	else
		rm -rf "$CACHE/kernel"
	fi
fi

[ -s "$CACHE/kernels/deb12-cloud/version" ] || fetch_kernel deb12-cloud linux-image-cloud-amd64
[ -s "$CACHE/kernels/deb12/version" ] || fetch_kernel deb12 linux-image-amd64
if [ ! -s "$CACHE/kernels/deb13/version" ]; then
	trixie_apt
	fetch_kernel deb13 linux-image-amd64 -c "$TRIXIE/apt.conf"
fi
ln -sfn kernels/deb12-cloud "$CACHE/kernel"
for k in deb12-cloud deb12 deb13; do
	echo "setup: kernel $k $(cat "$CACHE/kernels/$k/version") in $CACHE/kernels/$k"
done

# Debian's signed boot loaders for Secure Boot ISOs (mklive -secureboot):
# downloaded and unpacked, never installed (installing them would change this
# machine's own boot).
SIGNED_PKGS=(shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed)
if [ ! -s "$CACHE/secureboot/versions" ]; then
	echo "setup: fetching Debian's signed boot loaders: ${SIGNED_PKGS[*]}"
	tmp=$(mktemp -d "$CACHE/.download.XXXXXX")
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
	if ! (cd "$tmp" && apt-get download -q=2 "${SIGNED_PKGS[@]}"); then
		apt_update || true
		(cd "$tmp" && apt-get download -q=2 "${SIGNED_PKGS[@]}") ||
			die "download of ${SIGNED_PKGS[*]} failed: check the network and apt sources (apt-get update), then run scripts/setup.sh again"
	fi
	rm -rf "$CACHE/secureboot"
	mkdir -p "$CACHE/secureboot/root"
	for p in "${SIGNED_PKGS[@]}"; do
		dpkg -x "$tmp/${p}_"*.deb "$CACHE/secureboot/root"
	done
	for f in usr/lib/shim/shimx64.efi.signed usr/lib/shim/mmx64.efi.signed usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed; do
		[ -s "$CACHE/secureboot/root/$f" ] || die "the signed loader packages have no $f"
	done
	# shellcheck disable=SC2016 # ${...} are dpkg-deb's format fields
	(cd "$tmp" && for d in *.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$d"; done) >"$CACHE/secureboot/versions.new"
	mv "$CACHE/secureboot/versions.new" "$CACHE/secureboot/versions"
	rm -rf "$tmp"
	tmp=
fi
echo "setup: signed boot loaders in $CACHE/secureboot/root: $(paste -sd, "$CACHE/secureboot/versions" | sed 's/,/, /g')"
for f in /usr/share/OVMF/OVMF_CODE_4M.secboot.fd /usr/share/OVMF/OVMF_VARS_4M.ms.fd; do
	[ -s "$f" ] || die "$f is missing: the ovmf package (installed above) should have it"
done

# nginx for the network boot's VM tests: downloaded and unpacked, never
# installed (Debian's package starts a server on port 80 of every address;
# the tests start their own on 127.0.0.1 only, from $CACHE/nginx/root).
if [ ! -s "$CACHE/nginx/version" ]; then
	echo "setup: fetching nginx (unpacked, not installed)"
	tmp=$(mktemp -d "$CACHE/.download.XXXXXX")
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
	if ! (cd "$tmp" && apt-get download -q=2 nginx); then
		apt_update || true
		(cd "$tmp" && apt-get download -q=2 nginx) || die "download of nginx failed: check the network and apt sources, then run scripts/setup.sh again"
	fi
	rm -rf "$CACHE/nginx"
	mkdir -p "$CACHE/nginx/root"
	dpkg -x "$tmp"/nginx_*.deb "$CACHE/nginx/root"
	"$CACHE/nginx/root/usr/sbin/nginx" -v 2>&1 | grep -q 'nginx version' || die "the unpacked nginx does not run (its libraries: libpcre2-8-0, libssl3, zlib1g, libcrypt1)"
	# shellcheck disable=SC2016 # ${...} are dpkg-deb's format fields
	dpkg-deb -W --showformat='${Package} ${Version}\n' "$tmp"/nginx_*.deb >"$CACHE/nginx/version"
	rm -rf "$tmp"
	tmp=
fi
echo "setup: nginx $(cat "$CACHE/nginx/version") in $CACHE/nginx/root"

# A real distribution root for the systemd VM test: Debian's minimal base
# with systemd as /sbin/init and udev (systemd waits for devices udev
# announces), made once (about a minute and 50 MB of
# packages; SANDBOX_MIRROR picks the mirror).
if [ ! -e "$CACHE/debian-root/.complete" ]; then
	mirror
	echo "setup: debootstrap of a minimal Debian with systemd from $MIRROR"
	$SUDO rm -rf "$CACHE/debian-root"
	$SUDO debootstrap --variant=minbase --include=systemd-sysv,udev bookworm "$CACHE/debian-root" \
		"$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
	$SUDO touch "$CACHE/debian-root/.complete"
fi
echo "setup: Debian root in $CACHE/debian-root"

# dracut_root: the benchmark's dracut (bench system): Debian 12's dracut-core
# and dracut-live (dmsquash-live) with the tools they need that minbase lacks
# (cpio, kmod, dmsetup, kpartx), unpacked, not installed, into a hard-linked
# copy of debian-root, with the deb12 kernel's modules; bench runs dracut
# chrooted there. bench net's dracut livenet (root=live:http://...) adds
# dracut-network (network-legacy) with dhclient, ip, arping and pgrep, and curl with
# the libraries the minbase root lacks. tar --keep-directory-symlink keeps the merged /usr's
# symlinks (dpkg -x would replace /lib and /bin by directories). Files of
# the copy are never written in place: only new files are added.
dracut_root() {
	local d=$CACHE/dracut pkgs=(dracut-core dracut-live cpio kmod dmsetup libdevmapper1.02.1 kpartx
		dracut-network isc-dhcp-client iproute2 libbsd0 procps libproc2-0 libncursesw6 libbpf1 libelf1 libmnl0 libxtables12 libcap2-bin iputils-arping
		curl libcurl4 libbrotli1 libgssapi-krb5-2 libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0
		libldap-2.5-0 libnghttp2-14 libpsl5 librtmp1 libsasl2-2 libsasl2-modules-db libssh2-1) p f ver
	ver=$(cat "$CACHE/kernels/deb12/version")
	# curl, pgrep, libbsd: a root made before bench livenet's packages is made again
	if [ -e "$d/root/.complete" ] && [ "$(cat "$d/root/.complete")" = "$ver" ] && [ -x "$d/root/usr/bin/curl" ] && [ -x "$d/root/usr/bin/pgrep" ] && [ -e "$d/root/usr/lib/x86_64-linux-gnu/libbsd.so.0" ]; then
		echo "setup: dracut build root in $d/root"
		return 0
	fi
	mkdir -p "$d/debs"
	for p in "${pkgs[@]}"; do
		ls "$d/debs/${p}_"*.deb >/dev/null 2>&1 && continue
		echo "setup: downloading $p (for the benchmark's dracut)"
		(cd "$d/debs" && apt-get download -q=2 "$p" 2>/dev/null) ||
			{ apt_update && (cd "$d/debs" && apt-get download -q=2 "$p"); } ||
			die "download of $p failed: check the network and apt sources"
	done
	rm -rf "$d/root"
	cp -al "$CACHE/debian-root" "$d/root"
	rm -f "$d/root/.complete"
	for f in "$d/debs/"*.deb; do
		dpkg-deb --fsys-tarfile "$f" | tar -x --keep-directory-symlink -C "$d/root"
	done
	mkdir -p "$d/root/usr/lib/modules"
	cp -al "$CACHE/kernels/deb12/root/lib/modules/$ver" "$d/root/usr/lib/modules/"
	mkdir -p "$d/root/etc/dracut-bench.conf.d"
	[ -x "$d/root/usr/bin/dracut" ] || die "no usr/bin/dracut in $d/root"
	echo "$ver" >"$d/root/.complete"
	echo "setup: dracut build root in $d/root ($(ls "$d/debs" | wc -l) packages unpacked)"
}
if [ "${1:-}" = --bench ]; then
	dracut_root
fi
