// libFuzzer harness: the /proc/kallsyms parser and kernel stack symbolization. Compiled into the
// SwoffcpuSymbolizer sources by scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKallsyms(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let k = try? KernelSymbols(kallsyms: bytes) else { return 0 }
    // Addresses taken from the input's hex fields, as stacks would carry them.
    var stack: [UInt64] = [0, 1, UInt64.max]
    var v: UInt64 = 0
    var digits = 0
    for b in bytes.prefix(4096) {
        if let d = PerfMap.hexDigit(b), digits < 16 {
            v = v << 4 | UInt64(d)
            digits += 1
        } else {
            if digits > 0 { stack += [v, v &+ 1, v &- 1] }
            v = 0
            digits = 0
        }
        if stack.count > 96 { break }
    }
    _ = k.symbolize(stack)
    _ = k.symbolCount
    return 0
}
