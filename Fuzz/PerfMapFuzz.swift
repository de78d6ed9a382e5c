// libFuzzer harness: the JIT perf map (/tmp/perf-PID.map) parser and lookups in the table it
// builds. Compiled into the SwoffcpuSymbolizer sources by scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPerfMap(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let table = PerfMap.parse(bytes)
    for i in 0..<min(table.count, 64) {
        precondition(table.starts[i] < table.ends[i])
        _ = table.lookup(table.starts[i])
        _ = table.lookup(table.ends[i] &- 1)
        _ = table.lookup(table.ends[i])
        _ = table.name(at: i)
    }
    return 0
}
