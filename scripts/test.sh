#!/usr/bin/env bash
# test.sh: set up (scripts/setup.sh) and run every test: formatting, vet,
# unit tests, the fuzz targets' seed corpora, and the QEMU boot tests. The
# VM tests fail, never skip, when QEMU or the kernel is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
./scripts/setup.sh
echo "test: gofmt"
bad=$(gofmt -l .)
if [ -n "$bad" ]; then echo "gofmt needed on: $bad" >&2; exit 1; fi
echo "test: go vet"
go vet ./...
# The init's other builds (mklive picks them): with TLS, without the network.
go vet -tags tls ./init/...
go vet -tags nonet ./init/...
echo "test: go test (unit, fuzz seeds, VM boots)"
go test -count=1 -timeout 45m ./... "$@"
