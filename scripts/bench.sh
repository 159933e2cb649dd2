#!/usr/bin/env bash
# bench.sh: set up (scripts/setup.sh) and run the benchmark (go run ./bench),
# which boots sandbox-init and its alternatives in QEMU and compares them.
# Arguments go to the program: an experiment (boot, io, media, verity, work,
# system, net, livenet, all) and its flags, such as -n N (boots each) and -md (Markdown);
# "bench.sh EXPERIMENT -h" lists them, docs/bench.md says what each
# measures. The tables go to stdout, progress to stderr:
# bench.sh boot -md >results.md
# The flags of before still name the experiment (bench.sh -io -n 3 is
# bench.sh io -n 3; no experiment is boot).
# system boots the whole Debian system from emulated DVD and USB media,
# ours against the recipe and dracut (issue #15); it makes dracut's build
# root first (setup.sh --bench). As root: dracut runs chrooted. livenet
# boots the same system over a throttled network, ours (HTTP, NBD) against
# dracut's livenet (issue 22), with the same build root.
#
# bench.sh all [-quick] runs every section of issue #15's benchmark in turn
# (the boot against the recipe with the timeline picture, the sandbox at
# work, the whole system, dm-verity's cost) in Markdown, and repeats every
# section's "ratio NAME ours/OTHER=X" lines at the end for scripts. -quick
# takes fewer boots and variants: 7 minutes on 2 cores here.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
bench=
for a in "$@"; do
	case $a in -system | --system | -all | --all) bench=--bench ;; esac
done
case ${1:-} in system | livenet | all) bench=--bench ;; esac
./scripts/setup.sh $bench >&2
exec go run ./bench "$@"
