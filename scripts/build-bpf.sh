#!/usr/bin/env bash
# Compiles bpf/swoffcpu.bpf.c (with the bpf/*.bpf.h it includes: one object)
# into a CO-RE object and generates its libbpf skeleton, Sources/CSwoffcpuShims/swoffcpu.skel.h, which is committed: the
# skeleton embeds the object, so the swoffcpu binary carries its BPF programs
# and needs nothing beside it. Needs clang (Swift's own has the BPF target) and
# bpftool (Debian: bpftool).
# CI runs `scripts/build-bpf.sh --check` to prove the committed file is current.
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG=${CLANG:-$(command -v clang)}
OBJCOPY=${OBJCOPY:-$(dirname "$CLANG")/llvm-objcopy}
out=$(mktemp -d /tmp/swoffcpu-bpf.XXXXXXXX) # a fixed shape, whatever TMPDIR is (see below)
trap 'rm -rf "$out"' EXIT

# Compiled from a copy of bpf/ at a path of fixed shape ($out/src): the object's BTF
# came out different for clones at different paths even with -ffile-prefix-map (seen:
# two type ids swapped between /work/main and /tmp/ciclone-1), which failed --check.
mkdir -p "$out/src"
cp -r bpf "$out/src/bpf"
(cd "$out/src" && "$CLANG" -target bpf -g -O2 -D__TARGET_ARCH_x86 -mcpu=v3 \
    -Wall -Werror -Wno-unused-function \
    -I bpf -I bpf/vmlinux/x86 -ffile-prefix-map="$out/src"=. \
    -MD -MF "$out/deps" \
    -c bpf/swoffcpu.bpf.c -o "$out/swoffcpu.bpf.o")
# The object is rebuilt from every source each time, so --check sees a change in
# any header it includes. A header in bpf/ that it does not include would escape
# the check (and be dead code): refuse it.
for h in bpf/*.h; do
    if ! grep -qE "(^|[ /])${h#bpf/}( |$)" "$out/deps"; then
        echo "build-bpf: $h is not included by bpf/swoffcpu.bpf.c" >&2
        exit 1
    fi
done
# -ffile-prefix-map: BTF line info names the source files; without it the object
# (and so the committed skeleton) would depend on where the repository is cloned.
# DWARF is only needed to build CO-RE relocations; BTF (.BTF, .BTF.ext) stays.
"$OBJCOPY" --strip-debug "$out/swoffcpu.bpf.o" "$out/stripped.o"

# The skeleton embeds the object's bytes and gives typed access to its globals;
# the C shim includes it, so the object ends up inside the swoffcpu binary.
BPFTOOL=${BPFTOOL:-$(PATH="$PATH:/usr/sbin:/sbin" command -v bpftool)}
gen="$out/swoffcpu.skel.h"
"$BPFTOOL" gen skeleton "$out/stripped.o" name swoffcpu_bpf > "$gen"

dest=Sources/CSwoffcpuShims/swoffcpu.skel.h
if [[ "${1:-}" == "--check" ]]; then
    if ! cmp -s "$gen" "$dest"; then
        echo "build-bpf: $dest is stale: run scripts/build-bpf.sh and commit it" >&2
        exit 1
    fi
    echo "build-bpf: $dest is current"
else
    cp "$gen" "$dest"
    echo "build-bpf: wrote $dest ($(stat -c %s "$out/stripped.o") bytes of BPF object)"
fi
