#!/usr/bin/env bash
# Builds and runs the libFuzzer harnesses of Fuzz/ (see docs/reliability.md).
#
#   scripts/fuzz.sh [TARGET...] [--runs N | --seconds S] [--jobs-nice] [--build-only] [-- LIBFUZZER_ARGS...]
#
# TARGET: elf ehframe procmaps perfmap kallsyms folded (default: all, one after another).
# Default bound: --runs 200000 per target. Each harness is compiled with
# `swiftc -sanitize=fuzzer,address` together with the sources of the module it tests (so it
# reaches internal API without @testable), into .build-fuzz/bin/TARGET; Package.swift is not
# involved. The working corpus is .build-fuzz/corpus/TARGET (new inputs land there), seeded
# from the committed Fuzz/corpus/TARGET and from inputs generated here (small ELF binaries
# built with cc and their .eh_frame). Crashes, timeouts and OOMs are written to
# .build-fuzz/artifacts/TARGET/ and make the script exit non-zero; reproduce one with
# `.build-fuzz/bin/TARGET FILE`. The last line of each run's libFuzzer output (runs, exec/s,
# cov, ft) is printed as a summary and appended to .build-fuzz/results.txt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

all_targets=(elf ehframe procmaps perfmap kallsyms folded)
targets=()
bound=(-runs=200000)
build_only=0
extra=()
while (($#)); do
    case "$1" in
        --runs) bound=(-runs="$2"); shift 2 ;;
        --seconds) bound=(-max_total_time="$2"); shift 2 ;;
        --build-only) build_only=1; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *)
            if [[ " ${all_targets[*]} " == *" $1 "* ]]; then targets+=("$1"); shift
            else echo "fuzz.sh: unknown target or option '$1' (targets: ${all_targets[*]})" >&2; exit 2; fi ;;
    esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")

out=.build-fuzz
mkdir -p "$out/bin" "$out/mod" "$out/seeds"
swiftc_flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -use-ld=lld)
symbolizer_sources=$(find Sources/SwoffcpuSymbolizer -name '*.swift' | sort)
export_sources=$(find Sources/SwoffcpuExport -name '*.swift' | sort)

harness() {
    case "$1" in
        elf) echo Fuzz/ELFFuzz.swift ;;
        ehframe) echo Fuzz/EhFrameFuzz.swift ;;
        procmaps) echo Fuzz/ProcMapsFuzz.swift ;;
        perfmap) echo Fuzz/PerfMapFuzz.swift ;;
        kallsyms) echo Fuzz/KallsymsFuzz.swift ;;
        folded) echo Fuzz/FoldedFuzz.swift ;;
    esac
}

# True when $1 is missing or older than any of the other arguments.
stale() {
    local target="$1"; shift
    [[ -e "$target" ]] || return 0
    local f
    for f in "$@"; do [[ "$f" -nt "$target" ]] && return 0; done
    return 1
}

# The C module under SwoffcpuSystem (signal flag, capget): an ASan object and a module map.
build_c_system() {
    local lib="$out/mod/libCSwoffcpuSystem.a"
    if stale "$lib" Sources/CSwoffcpuSystem/system.c Sources/CSwoffcpuSystem/include/swoffcpu_system.h; then
        echo "fuzz.sh: building CSwoffcpuSystem" >&2
        mkdir -p "$out/mod/CSwoffcpuSystem"
        printf 'module CSwoffcpuSystem {\n    header "%s"\n    export *\n}\n' \
            "$PWD/Sources/CSwoffcpuSystem/include/swoffcpu_system.h" > "$out/mod/CSwoffcpuSystem/module.modulemap"
        clang -fsanitize=address -O1 -g -c -I Sources/CSwoffcpuSystem/include \
            -o "$out/mod/system.o" Sources/CSwoffcpuSystem/system.c
        ar rcs "$lib" "$out/mod/system.o"
    fi
}

# A package module the harnesses depend on, built with ASan (no coverage: only the module
# under test is instrumented for the fuzzer) as a static library and a .swiftmodule in $out/mod.
build_module() {
    local name="$1" sources lib="$out/mod/lib$1.a"
    sources=$(find "Sources/$name" -name '*.swift' | sort)
    # shellcheck disable=SC2086
    if stale "$lib" $sources $(ls "$out"/mod/*.a 2>/dev/null | grep -v "/lib$name.a"); then
        echo "fuzz.sh: building $name module" >&2
        # shellcheck disable=SC2086
        swiftc -sanitize=address -parse-as-library -O -g -swift-version 6 -use-ld=lld -module-name "$name" \
            -I "$out/mod" -I "$out/mod/CSwoffcpuSystem" \
            -emit-module -emit-module-path "$out/mod/$name.swiftmodule" \
            -emit-library -static -o "$lib" $sources
    fi
}

build() {
    local t="$1" bin="$out/bin/$1" h
    h=$(harness "$t")
    # The modules under the one a harness tests, in dependency order (Package.swift).
    build_c_system
    build_module SwoffcpuSystem
    if [[ "$t" == folded ]]; then
        # SwoffcpuExport imports SwoffcpuCore and SwoffcpuResolve (which imports the symbolizer).
        build_module SwoffcpuCore
        build_module SwoffcpuSymbolizer
        build_module SwoffcpuResolve
        local libs=("$out/mod/libSwoffcpuResolve.a" "$out/mod/libSwoffcpuSymbolizer.a" "$out/mod/libSwoffcpuCore.a"
                    "$out/mod/libSwoffcpuSystem.a" "$out/mod/libCSwoffcpuSystem.a")
        # shellcheck disable=SC2086
        if stale "$bin" $export_sources "$h" "${libs[@]}"; then
            echo "fuzz.sh: building $bin" >&2
            # shellcheck disable=SC2086
            swiftc "${swiftc_flags[@]}" -module-name SwoffcpuExport -I "$out/mod" -I "$out/mod/CSwoffcpuSystem" \
                $export_sources "$h" "${libs[@]}" -o "$bin"
        fi
    else
        local libs=("$out/mod/libSwoffcpuSystem.a" "$out/mod/libCSwoffcpuSystem.a")
        # shellcheck disable=SC2086
        if stale "$bin" $symbolizer_sources "$h" "${libs[@]}"; then
            echo "fuzz.sh: building $bin" >&2
            # shellcheck disable=SC2086
            swiftc "${swiftc_flags[@]}" -module-name SwoffcpuSymbolizer -I "$out/mod" -I "$out/mod/CSwoffcpuSystem" \
                $symbolizer_sources "$h" "${libs[@]}" -o "$bin"
        fi
    fi
}

# Small ELF binaries (static without libc, dynamic PIE, stripped) for the elf and ehframe seeds.
generate_elf_seeds() {
    local d="$out/seeds/elf"
    [[ -e "$d/.done" ]] && return 0
    mkdir -p "$d"
    local src="$out/seeds/tiny.c"
    cat > "$src" <<'C'
static int helper(int x) { return x * 3 + 1; }
int counter;
int work(int n) { int s = 0; for (int i = 0; i < n; i++) s += helper(i); return s; }
#ifdef NOLIBC
void _start(void) { counter = work(3); for (;;) __asm__ volatile("hlt"); }
#else
int main(int argc, char **argv) { (void)argv; return work(argc); }
#endif
C
    local cc="${CC:-cc}"
    "$cc" -O1 -g0 -DNOLIBC -nostdlib -static -Wl,--build-id -o "$d/static-nolibc" "$src"
    "$cc" -O1 -g0 -fPIE -pie -Wl,--build-id -o "$d/pie" "$src"
    "$cc" -O1 -g0 -fPIE -pie -Wl,--build-id -s -o "$d/pie-stripped" "$src"
    "$cc" -O1 -g0 -fno-asynchronous-unwind-tables -fno-unwind-tables -DNOLIBC -nostdlib -static -o "$d/static-nocfi" "$src"
    objcopy --remove-section=.eh_frame_hdr "$d/pie" "$d/pie-nohdr" 2>/dev/null || true
    touch "$d/.done"
}

# .eh_frame seeds in the ehframe harness's layout, from the generated binaries.
generate_ehframe_seeds() {
    local d="$out/seeds/ehframe"
    [[ -e "$d/.done" ]] && return 0
    generate_elf_seeds
    mkdir -p "$d"
    local f
    for f in "$out/seeds/elf"/static-nolibc "$out/seeds/elf"/pie "$out/seeds/elf"/pie-nohdr; do
        [[ -e "$f" ]] || continue
        python3 - "$f" "$d/$(basename "$f")" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
shoff, = struct.unpack_from('<Q', data, 40)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 58)
secs = [struct.unpack_from('<IIQQQQ', data, shoff + i * shentsize) for i in range(shnum)]
stro = secs[shstrndx][4]
def name(off):
    end = data.index(b'\0', stro + off)
    return data[stro + off:end].decode()
found = {name(s[0]): (s[3], data[s[4]:s[4] + s[5]]) for s in secs}
eh = found.get('.eh_frame')
if eh is None:
    sys.exit(0)
hdr = found.get('.eh_frame_hdr')
out = struct.pack('<QQ', hdr[0] if hdr else 0, eh[0])
out += struct.pack('<H', len(hdr[1])) + hdr[1] if hdr else struct.pack('<H', 0xffff)
open(sys.argv[2], 'wb').write(out + eh[1])
PY
    done
    touch "$d/.done"
}

max_len() {
    case "$1" in
        elf) echo 65536 ;;
        ehframe) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

status=0
mkdir -p "$out/artifacts"
for t in "${targets[@]}"; do
    build "$t"
    ((build_only)) && continue
    corpus="$out/corpus/$t"
    mkdir -p "$corpus" "$out/artifacts/$t"
    seeds=()
    [[ -d "Fuzz/corpus/$t" ]] && seeds+=("Fuzz/corpus/$t")
    case "$t" in
        elf) generate_elf_seeds; seeds+=("$out/seeds/elf") ;;
        ehframe) generate_ehframe_seeds; seeds+=("$out/seeds/ehframe") ;;
    esac
    dict=()
    [[ -f "Fuzz/dict/$t.dict" ]] && dict=(-dict="Fuzz/dict/$t.dict")
    log="$out/$t.log"
    echo "fuzz.sh: $t ${bound[*]} (log: $log)" >&2
    set +e
    nice -n 19 "$out/bin/$t" "$corpus" "${seeds[@]}" "${bound[@]}" "${dict[@]}" \
        -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$t/" "${extra[@]}" > "$log" 2>&1
    rc=$?
    set -e
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    runs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' || true)
    secs=$(grep -E '^Done [0-9]+ runs in' "$log" | awk '{print $5}' || true)
    line="$(date -u +%FT%TZ) $t rc=$rc runs=${runs:-?} seconds=${secs:-?} ${done_line:-no DONE line}"
    echo "$line" | tee -a "$out/results.txt"
    if ((rc != 0)); then
        status=1
        grep -E 'ERROR: |SUMMARY|Test unit written|Fatal error|crash-|timeout-|oom-' "$log" | head -20 >&2 || true
    fi
done
exit $status
