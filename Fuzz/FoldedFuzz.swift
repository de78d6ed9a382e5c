// libFuzzer harness: the folded-stacks parser (and merge). Compiled into the SwoffcpuExport
// sources by scripts/fuzz.sh.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFolded(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let d = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard let stacks = try? FoldedParser().parse(data: d) else { return 0 }
    for s in stacks {
        precondition(!s.frames.isEmpty && !s.frames.contains(where: \.isEmpty))
    }
    _ = FoldedParser.merge(stacks)
    return 0
}
