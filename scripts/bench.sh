#!/usr/bin/env bash
# bench.sh: set up (scripts/setup.sh) and run issue #5's benchmark, which
# boots sandbox-init and the sandbox how-to's shell recipe in QEMU and
# compares them. Arguments go to the program: -n N (boots each), -io (write
# throughput per chunk size), -md (Markdown); "bench.sh -h" lists them all.
# The tables go to stdout, progress to stderr: bench.sh -md >results.md
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
./scripts/setup.sh >&2
exec go run ./bench "$@"
