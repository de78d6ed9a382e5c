#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this): installs
# what is missing, checks the committed BPF skeleton matches bpf/, builds, and
# runs every test. The integration tests load real BPF programs: run as root.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-deps.sh --test
scripts/build-bpf.sh --check
swift build --build-tests
swift test --skip-build "$@"
