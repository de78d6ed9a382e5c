// libFuzzer harness: the /proc/PID/maps parser. Compiled into the SwoffcpuSymbolizer sources by
// scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProcMaps(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    for e in ProcMaps.parse(bytes) {
        precondition(e.start <= e.end)
        _ = e.isFileBacked
    }
    return 0
}
