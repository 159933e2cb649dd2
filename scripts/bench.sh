#!/usr/bin/env bash
# bench.sh: set up (scripts/setup.sh) and run the benchmark (go run ./bench),
# which boots sandbox-init and its alternatives in QEMU and compares them.
# Arguments go to the program: -n N (boots each), -md (Markdown), a mode
# (-io, -media, -verity, -work, -system [-quick]); "bench.sh -h" lists them
# all. The tables go to stdout, progress to stderr: bench.sh -md >results.md
# -system boots the whole Debian system from emulated DVD and USB media,
# ours against the recipe and dracut (issue #15); it makes dracut's build
# root first (setup.sh --bench). As root: dracut runs chrooted.
#
# bench.sh -all [-quick] runs every section of issue #15's benchmark in turn
# (the boot against the recipe with the timeline picture, the sandbox at
# work, the whole system, dm-verity's cost) in Markdown, and repeats every
# section's "ratio NAME ours/OTHER=X" lines at the end for scripts. -quick
# takes fewer boots and variants: 7 minutes on 2 cores here.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
if [ "${1:-}" = -all ]; then
	shift
	quick=
	if [ "${1:-}" = -quick ]; then
		quick=1
		shift
	fi
	./scripts/setup.sh --bench >&2
	if [ -n "$quick" ]; then
		sections=("-n 3 -svg docs/boot-timeline.svg" "-work -n 1 -chunks 32 -stores PO" "-system -quick" "-verity -n 2")
	else
		sections=("-n 5 -svg docs/boot-timeline.svg" "-work -n 3" "-system -n 3" "-verity -n 5")
	fi
	out=$(mktemp)
	trap 'rm -f "$out"' EXIT
	for s in "${sections[@]}"; do
		echo "bench.sh -all: go run ./bench $s -md" >&2
		# shellcheck disable=SC2086 # each section is its own words
		go run ./bench $s -md "$@" | tee -a "$out"
		echo
	done
	echo "## All ratios"
	echo
	grep '^ratio ' "$out"
	exit 0
fi
bench=
for a in "$@"; do [ "$a" != -system ] || bench=--bench; done
./scripts/setup.sh $bench >&2
exec go run ./bench "$@"
