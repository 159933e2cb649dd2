#!/usr/bin/env bash
# bench.sh: set up (scripts/setup.sh) and run issue #5's benchmark, which
# boots sandbox-init and the sandbox how-to's shell recipe in QEMU and
# compares them. Arguments go to the program: -n N (boots each), -io (write
# throughput per chunk size), -md (Markdown); "bench.sh -h" lists them all.
# The tables go to stdout, progress to stderr: bench.sh -md >results.md
# bench.sh -system [-quick] boots the whole Debian system from emulated DVD
# and USB media, ours against the recipe and dracut (issue #15); it makes
# dracut's build root first (setup.sh --bench). As root: dracut runs chrooted.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
bench=
for a in "$@"; do [ "$a" != -system ] || bench=--bench; done
./scripts/setup.sh $bench >&2
exec go run ./bench "$@"
