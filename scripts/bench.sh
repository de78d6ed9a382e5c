#!/usr/bin/env bash
# swoffcpu benchmark: overhead on a pinned pipe ping-pong (vs untraced and vs
# libbpf-tools' offcputime), the BPF programs' cost per event, and scale
# (10,000 threads, thread churn, 100,000 stacks). Root; a few minutes
# (--quick: about one). Prints a markdown report and saves it under out/.
#   scripts/bench.sh [--quick] [--rounds N] [--loops N] [--compare OTHER_SWOFFCPU] [--help]
# What the numbers mean: docs/performance.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ $(id -u) -ne 0 ]]; then
    echo "bench: run as root (BPF, sysctl kernel.bpf_stats_enabled, nice -20)" >&2
    exit 1
fi
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3; }
export PATH="$PATH:/opt/swift/usr/bin"
exec python3 "$root/scripts/bench/bench.py" "$@"
