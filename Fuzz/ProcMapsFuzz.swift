// libFuzzer harness: the /proc/PID/maps parser. Every parsed entry, printed back as a maps
// line, parses to the same entry. Compiled into the SwoffcpuSymbolizer sources by scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProcMaps(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    for e in ProcMaps.parse(bytes) {
        precondition(e.start <= e.end)
        _ = e.isFileBacked
        let perms = (e.readable ? "r" : "-") + (e.writable ? "w" : "-") + (e.executable ? "x" : "-") + (e.shared ? "s" : "p")
        let line = "\(hexDigits(e.start))-\(hexDigits(e.end)) \(perms) \(hexDigits(e.offset)) "
            + "\(hexDigits(UInt64(e.devMajor))):\(hexDigits(UInt64(e.devMinor))) \(e.inode) "
            + e.path + (e.deleted ? " (deleted)" : "")
        let again = ProcMaps.parseLine(ArraySlice(Array(line.utf8)))
        precondition(again == e, "maps line does not round-trip: \(line)")
    }
    return 0
}

func hexDigits(_ v: UInt64) -> String { String(v, radix: 16) }
