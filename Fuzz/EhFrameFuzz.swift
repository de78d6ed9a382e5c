// libFuzzer harness: .eh_frame and .eh_frame_hdr parsing, the FDE index and the CFA program.
// Input layout (little-endian): [u64 .eh_frame_hdr address][u64 .eh_frame address]
// [u16 header length H][H bytes .eh_frame_hdr][rest: .eh_frame]; H = 0xffff: no header
// (scripts/fuzz.sh extracts seeds in this layout from real binaries). Compiled into the
// SwoffcpuSymbolizer sources by scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEhFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard bytes.count >= 18 else { return 0 }
    let headerVaddr = bytes.u64(at: 0)!
    let ehVaddr = bytes.u64(at: 8)!
    let h = Int(bytes.u16(at: 16)!)
    var header: [UInt8]? = nil
    var rest = 18
    if h != 0xffff {
        guard rest + h <= bytes.count else { return 0 }
        header = Array(bytes[rest..<(rest + h)])
        rest += h
    }
    let ehFrame = Array(bytes[rest...])
    let info = EhFrameUnwindInfo(ehFrame: ehFrame, ehFrameVaddr: ehVaddr, header: header, headerVaddr: headerVaddr)
    // Every FDE the index finds: its row at a few pcs, through the lookup and directly.
    let index = info.section.buildIndex(limit: 256)
    var cache: [Int: CIE] = [:]
    for e in index.prefix(32) {
        _ = info.row(for: e.start)
        _ = info.row(for: e.start &+ 7)
        _ = info.row(for: e.end &- 1)
        if let f = try? info.section.fde(at: e.offset, cieCache: &cache) {
            _ = CFAProgram.row(for: f, in: info.section, at: f.pcEnd &- 1)
        }
    }
    // Walk the entries the way diagnostics do.
    var off = 0
    var n = 0
    while n < 64, off < ehFrame.count, let next = info.section.nextEntryOffset(after: off), next > off {
        _ = try? info.section.entry(at: off)
        off = next
        n += 1
    }
    if let header { _ = EhFrameHeader(bytes: header, vaddr: headerVaddr)?.fdeAddress(for: ehVaddr) }
    return 0
}
