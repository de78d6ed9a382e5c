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
    for i in stride(from: 0, to: table.count, by: step) {
        _ = table.lookup(table.starts[i])
        _ = table.lookup(table.ends[i] &- 1)
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
