#!/usr/bin/env bash
# Builds swoffcpu (release, static Swift runtime) after installing the Debian
# packages it needs when missing, then runs it with the given arguments:
#   scripts/swoffcpu.sh -p PID -d 5
# Build output goes to stderr, so `--json -` on stdout stays clean.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
swift build --package-path "$root" -c release --static-swift-stdlib >&2
exec "$root/.build/release/swoffcpu" "$@"
