// libFuzzer harness: ELF headers, notes, symbol tables and the .eh_frame found through the
// section headers. Compiled into the SwoffcpuSymbolizer sources by scripts/fuzz.sh (internal API).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzELF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let source = MemoryByteSource(bytes: bytes)
    guard let image = try? ELFImage(source: source, path: "fuzz") else { return 0 }
    var builder = SymbolTableBuilder()
    image.appendSymbols(to: &builder)
    let table = builder.build()
    let step = max(1, table.count / 16)
    for i in 0..<table.count {
        precondition(i == 0 || table.starts[i - 1] < table.starts[i], "starts not strictly ascending")
        precondition(table.starts[i] <= table.ends[i], "symbol ends before it starts")
    }
    for i in stride(from: 0, to: table.count, by: step) {
        for a in [table.starts[i], table.ends[i] &- 1] {
            if let j = table.lookup(a) {
                precondition(table.starts[j] <= a && a < table.ends[j], "lookup answered a symbol not containing the address")
            }
        }
        _ = table.name(at: i)
    }
    for l in image.loads.prefix(8) {
        _ = image.loads.vaddr(forFileOffset: l.offset)
        _ = image.loads.vaddr(forFileOffset: l.offset &+ l.filesz)
    }
    if let cfi = EhFrameUnwindInfo(sections: image.sections, source: source) {
        for i in stride(from: 0, to: table.count, by: step) {
            _ = cfi.row(for: table.starts[i])
            _ = cfi.row(for: table.starts[i] &+ 4)
        }
    }
    return 0
}
