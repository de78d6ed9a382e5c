#!/usr/bin/env bash
# Regenerates Sources/SwoffcpuExport/Pprof/profile.pb.swift from proto/profile.proto (pprof's
# format). The generated file is committed: building swoffcpu needs neither protoc nor the
# plugin. Run this only when proto/profile.proto changes.
#
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift of the swift-protobuf version
# in Package.swift (1.39.0), built once from the package mirror:
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf   # or the local mirror
#   (cd /tmp/swift-protobuf && git checkout 1.39.0 && swift build -c release --product protoc-gen-swift)
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift scripts/gen-pprof-proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
[ -x "$plugin" ] || { echo "gen-pprof-proto: no protoc-gen-swift (set PROTOC_GEN_SWIFT)" >&2; exit 1; }
command -v protoc >/dev/null || { echo "gen-pprof-proto: no protoc (apt-get install protobuf-compiler)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Internal: only SwoffcpuExport's pprof writer uses the messages.
protoc --plugin=protoc-gen-swift="$plugin" --proto_path=proto \
    --swift_opt=Visibility=Internal --swift_out="$out" proto/profile.proto
mv "$out/profile.pb.swift" Sources/SwoffcpuExport/Pprof/profile.pb.swift
echo "gen-pprof-proto: wrote Sources/SwoffcpuExport/Pprof/profile.pb.swift"
