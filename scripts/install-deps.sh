#!/usr/bin/env bash
# Installs the Debian packages swoffcpu needs, only those missing (apt-get update
# runs only when something is to be installed). Needs root, as swoffcpu does.
#   scripts/install-deps.sh          build and run: libbpf, libelf, zlib headers and static libs
#   scripts/install-deps.sh --test   also what the tests use: bpftool (skeleton check),
#                                    gcc/g++ (test workloads, symbolizer fixtures), rustc (the
#                                    Rust unwinding workload), binutils,
#                                    chromium (flamegraph check), libcap2-bin (capsh),
#                                    make and passwd (useradd): the --follow and sudo-user tests
#                                    python3 (Python frames: Debian's 3.11), libpython3-dev
#                                    (its headers, for scripts/python/offsets.sh)
#                                    golang-go (go tool pprof reads the pprof files)
#                                    bsdutils (script: a pseudo-terminal for the live view)
#                                    libcurl4 (the debuginfod client, with a local server)
#   scripts/install-deps.sh --bench  also the benchmark's anchors: linux-perf, libbpf-tools
set -euo pipefail

pkgs=(libbpf-dev libelf-dev zlib1g-dev)
for arg in "$@"; do
    case "$arg" in
        --test) pkgs+=(bpftool gcc g++ rustc binutils chromium libcap2-bin make passwd python3 libpython3-dev golang-go bsdutils libcurl4) ;;
        --bench) pkgs+=(bpftool linux-perf libbpf-tools gcc) ;;
        *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: missing ${missing[*]}: run as root (or sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ! command -v swift >/dev/null; then
    echo "install-deps: swift is not on PATH (Swift 6.x toolchain needed, e.g. /opt/swift/usr/bin)" >&2
    exit 1
fi
