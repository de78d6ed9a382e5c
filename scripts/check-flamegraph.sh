#!/usr/bin/env bash
# Checks a flame graph SVG written by swoffcpu in headless Chromium and takes a screenshot.
#
#   scripts/check-flamegraph.sh [options] FILE.svg
#   scripts/check-flamegraph.sh --example          # regenerate docs/img/flamegraph-example.{png,svg}
#
# Checks, failing (exit 1) on the first problem:
#   1. the file is well-formed XML (python3's parser) with a data-total attribute;
#   2. Chromium loads it and its script runs to the end (the DOM gets data-ready="N frames");
#   3. no console message (error, warning or log) while loading, nor while searching and zooming
#      through the URL parameters ?s=REGEX&z=FRAME the script understands;
#   4. the screenshot is written (and, with --max-kb, is no larger than that).
#
# Options:
#   -o, --output PNG    screenshot path (default: FILE.png next to the SVG; --example: docs/img/flamegraph-example.png)
#   --width N           window width, px (default: the SVG's width)
#   --height N          window height, px (default: the SVG's height)
#   --search REGEX      search term for the interaction check (default: lock)
#   --zoom NAME         frame to zoom into for the interaction check (default: the widest depth-2 frame)
#   --max-kb N          fail if the PNG is larger (default: 300 with --example, else no limit)
#   --example           render the synthetic mutex-contention example (FlamegraphExampleTests) first;
#                       builds with `swift test --scratch-path "${SCRATCH:-.build-flame}"` in the package
#                       at $PACKAGE_DIR (default: this repository)
#   -h, --help
#
# Needs chromium (Debian: apt-get install chromium) and python3. Set CHROMIUM to use another binary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chromium=${CHROMIUM:-chromium}
output="" width="" height="" search="lock" zoom="" max_kb="" example=0 svg=""

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        -o|--output) output=$2; shift 2 ;;
        --width) width=$2; shift 2 ;;
        --height) height=$2; shift 2 ;;
        --search) search=$2; shift 2 ;;
        --zoom) zoom=$2; shift 2 ;;
        --max-kb) max_kb=$2; shift 2 ;;
        --example) example=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "check-flamegraph: unknown option $1" >&2; exit 2 ;;
        *) svg=$1; shift ;;
    esac
done

fail() { echo "check-flamegraph: FAIL: $*" >&2; exit 1; }
command -v "$chromium" >/dev/null || fail "no '$chromium' (apt-get install chromium, or set CHROMIUM)"
command -v python3 >/dev/null || fail "no python3"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$example" = 1 ]; then
    package=${PACKAGE_DIR:-$here}
    scratch=${SCRATCH:-.build-flame}
    echo "check-flamegraph: rendering the example with swift test in $package"
    (cd "$package" && SWOFFCPU_FLAMEGRAPH_EXAMPLE_DIR="$work" \
        swift test --scratch-path "$scratch" --filter FlamegraphExampleTests >"$work/swift-test.log" 2>&1) \
        || { tail -30 "$work/swift-test.log" >&2; fail "swift test failed (log above)"; }
    [ -s "$work/example.svg" ] || fail "the example test wrote no SVG"
    svg="$work/example.svg"
    output=${output:-$here/docs/img/flamegraph-example.png}
    max_kb=${max_kb:-300}
fi
[ -n "$svg" ] || { usage >&2; exit 2; }
[ -f "$svg" ] || fail "no such file: $svg"
svg=$(cd "$(dirname "$svg")" && pwd)/$(basename "$svg")
output=${output:-${svg%.svg}.png}

# 1. Well-formed XML; read the size and a frame to zoom into.
read -r svg_width svg_height total zoom_default < <(python3 - "$svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except ET.ParseError as e:
    print("check-flamegraph: FAIL: not well-formed XML:", e, file=sys.stderr); sys.exit(1)
ns = "{http://www.w3.org/2000/svg}"
if root.tag != ns + "svg" or root.get("data-total") is None:
    print("check-flamegraph: FAIL: not a swoffcpu flame graph (no <svg data-total>)", file=sys.stderr); sys.exit(1)
base, fh = float(root.get("data-base-y")), float(root.get("data-fh"))
best = None
for g in root.iter(ns + "g"):
    rect, title = g.find(ns + "rect"), g.find(ns + "title")
    if g.get("data-v") is None or rect is None or title is None or g.get("data-m"):
        continue
    if round((base - float(rect.get("y"))) / fh) == 2 and (best is None or int(g.get("data-v")) > best[0]):
        best = (int(g.get("data-v")), title.text.split("\n")[0])
print(round(float(root.get("width"))), round(float(root.get("height"))), root.get("data-total"),
      best[1] if best else "-")  # last: may contain spaces
EOF
) || exit 1
width=${width:-$svg_width}
height=${height:-$svg_height}
zoom=${zoom:-$zoom_default}
[ "$zoom" = "-" ] && zoom=""
echo "check-flamegraph: $svg: well-formed, ${svg_width}x${svg_height}, total $total"

run_chromium() { # extra chromium arguments...; stderr goes to $work/log
    timeout 120 "$chromium" --headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run \
        --disable-extensions --enable-logging=stderr --v=0 --user-data-dir="$work/profile" "$@" 2>"$work/log"
}
console_messages() { grep -a 'CONSOLE' "$work/log" || true; }
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# 2 and 3. Load; the script must finish (data-ready) without a console message.
run_chromium --dump-dom "file://$svg" >"$work/dom.svg" || fail "chromium could not load the file"
messages=$(console_messages)
[ -z "$messages" ] || fail "console messages while loading:"$'\n'"$messages"
grep -q 'data-ready="[0-9]*"' "$work/dom.svg" || fail "the script did not run to the end (no data-ready in the DOM)"
frames=$(grep -o 'data-ready="[0-9]*"' "$work/dom.svg" | head -1 | tr -dc 0-9)
echo "check-flamegraph: script ran, $frames frames"

query="?s=$(urlencode "$search")"
[ -n "$zoom" ] && query="$query&z=$(urlencode "$zoom")"
run_chromium --dump-dom "file://$svg$query" >"$work/dom-interactive.svg" || fail "chromium could not load the file with $query"
messages=$(console_messages)
[ -z "$messages" ] || fail "console messages while searching/zooming:"$'\n'"$messages"
matched=$(grep -o '<text id="matched"[^>]*>[^<]*' "$work/dom-interactive.svg" | sed 's/.*>//')
case "$matched" in Matched:*) ;; *) fail "search '$search' did not report a match share (got '$matched')" ;; esac
if [ -n "$zoom" ]; then
    grep -q '<text id="reset" class="ctl"' "$work/dom-interactive.svg" || fail "zoom into '$zoom' did not show Reset Zoom"
fi
echo "check-flamegraph: search '$search': $matched${zoom:+; zoom into '$zoom' ok}"

# 4. Screenshot.
mkdir -p "$(dirname "$output")"
run_chromium --window-size="$width,$height" --screenshot="$output" "file://$svg" || fail "screenshot failed"
messages=$(console_messages)
[ -z "$messages" ] || fail "console messages while taking the screenshot:"$'\n'"$messages"
[ -s "$output" ] || fail "no screenshot written"
kb=$(( ($(stat -c %s "$output") + 1023) / 1024 ))
if [ -n "$max_kb" ] && [ "$kb" -gt "$max_kb" ]; then
    fail "$output is ${kb} KB, over ${max_kb} KB"
fi
if [ "$example" = 1 ]; then
    cp "$svg" "${output%.png}.svg"
    echo "check-flamegraph: example SVG copied to ${output%.png}.svg"
fi
echo "check-flamegraph: OK: screenshot $output (${width}x${height}, ${kb} KB)"
