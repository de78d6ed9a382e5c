#!/usr/bin/env bash
# Rewrites the golden report files (Tests/SwoffcpuExportTests/Golden/) after an intended
# change of an output format; review `git diff Tests/SwoffcpuExportTests/Golden` before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
SWOFFCPU_UPDATE_GOLDENS=1 swift test --filter GoldenOutputTests "$@"
