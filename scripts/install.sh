#!/usr/bin/env bash
# Builds swoffcpu and installs it with its shell completions (bash, zsh, fish) and its
# man page, both generated from the argument parser (swift-argument-parser's
# --generate-completion-script and its generate-manual plugin; both work offline).
#   scripts/install.sh [--prefix DIR] [--debug]      install (default prefix /usr/local; DESTDIR honoured)
#   scripts/install.sh --generate DIR [--debug]       only write the completions and the man page into DIR
# Installed:
#   PREFIX/bin/swoffcpu
#   PREFIX/share/man/man1/swoffcpu.1
#   PREFIX/share/bash-completion/completions/swoffcpu
#   PREFIX/share/zsh/site-functions/_swoffcpu
#   PREFIX/share/fish/vendor_completions.d/swoffcpu.fish
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

prefix=/usr/local config=release generate=""
while (($#)); do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --debug) config=debug; shift ;;
        --generate) generate=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
done

swift build -c "$config" --product swoffcpu >&2
bin="$(swift build -c "$config" --show-bin-path)/swoffcpu"

out=$(mktemp -d /tmp/swoffcpu-install.XXXXXXXX)
trap 'rm -rf "$out"' EXIT
"$bin" --generate-completion-script bash > "$out/swoffcpu.bash"
"$bin" --generate-completion-script zsh > "$out/_swoffcpu"
"$bin" --generate-completion-script fish > "$out/swoffcpu.fish"
swift package generate-manual --configuration "$config" >&2
cp .build/plugins/GenerateManual/outputs/swoffcpu/swoffcpu.1 "$out/swoffcpu.1"

if [[ -n $generate ]]; then
    mkdir -p "$generate"
    cp "$out"/swoffcpu.bash "$out"/_swoffcpu "$out"/swoffcpu.fish "$out"/swoffcpu.1 "$generate"/
    echo "install: completions and man page written to $generate" >&2
    exit 0
fi

root="${DESTDIR:-}$prefix"
install -Dm755 "$bin" "$root/bin/swoffcpu"
install -Dm644 "$out/swoffcpu.1" "$root/share/man/man1/swoffcpu.1"
install -Dm644 "$out/swoffcpu.bash" "$root/share/bash-completion/completions/swoffcpu"
install -Dm644 "$out/_swoffcpu" "$root/share/zsh/site-functions/_swoffcpu"
install -Dm644 "$out/swoffcpu.fish" "$root/share/fish/vendor_completions.d/swoffcpu.fish"
echo "install: swoffcpu, its man page and completions installed under $root" >&2
