#!/usr/bin/env bash
# demo.sh: set up, build the demo Live CD from defaults (a busybox root, the
# Debian cloud kernel, sandbox-init) and boot it in QEMU from -cdrom alone.
# The demo shows the sandbox at work and powers off. "demo.sh -shell" ends in
# a shell inside the sandbox instead (exit it to power off).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
./scripts/setup.sh
exec go run ./cmd/mklive demo -o out -boot "$@"
