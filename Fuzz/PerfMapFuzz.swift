// libFuzzer harness: the JIT perf map (/tmp/perf-PID.map) parser and lookups in the table it
// builds. Compiled into the SwoffcpuSymbolizer sources by scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPerfMap(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let table = PerfMap.parse(bytes)
    checkSymbolTable(table)
    return 0
}

/// Sorted starts, and every lookup answers a symbol that contains the address.
func checkSymbolTable(_ table: SymbolTable) {
    for i in 0..<table.count {
        precondition(i == 0 || table.starts[i - 1] < table.starts[i], "starts not strictly ascending")
        precondition(table.starts[i] <= table.ends[i], "symbol ends before it starts")
    }
    for i in 0..<min(table.count, 64) {
        for a in [table.starts[i], table.ends[i] &- 1, table.ends[i]] {
            if let j = table.lookup(a) {
                precondition(table.starts[j] <= a && a < table.ends[j], "lookup answered a symbol not containing the address")
            }
        }
        _ = table.name(at: i)
    }
}
