import Foundation

/// A snapshot of /proc/kallsyms: text symbols of the kernel, its modules and the JITed BPF
/// programs loaded at the time. Take it after the profiler has loaded its own BPF programs so
/// that their frames are recognized.
public final class KernelSymbols: @unchecked Sendable {
    private let table: SymbolTable
    /// "[kernel.kallsyms]", "[ext4]", "[bpf]"…
    private let moduleNames: [String]
    private let bpfModule: Int?
    private let options: SymbolizerOptions
    private let lock = NSLock()
    private var cache: [CacheKey: Frame] = [:]

    private struct CacheKey: Hashable {
        var address: UInt64
        var isReturn: Bool
    }

    public var symbolCount: Int { table.count }

    /// Sized implicitly: a kallsyms symbol ends at the next one, and at most this far from its
    /// start for the core kernel (modules, BPF: `maxModuleSymbolSize`).
    static let maxCoreSymbolSize: UInt64 = 1 << 20
    static let maxModuleSymbolSize: UInt64 = 1 << 16

    /// Parses the text of /proc/kallsyms (`ADDR TYPE NAME [MODULE]`). Keeps text symbols (t/T/w/W).
    public init(kallsyms bytes: [UInt8], options: SymbolizerOptions = .init()) throws {
        self.options = options
        var builder = SymbolTableBuilder()
        builder.maxImplicitSize = KernelSymbols.maxCoreSymbolSize
        var modules = ["[kernel.kallsyms]"]
        var moduleIndex: [String: UInt16] = [:]
        var sawNonZero = false
        var sawAny = false
        var lineStart = 0
        let n = bytes.count
        builder.reserve(n / 40)
        while lineStart < n {
            var lineEnd = lineStart
            while lineEnd < n, bytes[lineEnd] != 0x0a { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            var i = lineStart
            var addr: UInt64 = 0
            var digits = 0
            while i < lineEnd, let d = PerfMap.hexDigit(bytes[i]), digits < 16 {
                addr = addr << 4 | UInt64(d)
                i += 1
                digits += 1
            }
            guard digits > 0, i + 3 < lineEnd, bytes[i] == 0x20 else { continue }
            let type = bytes[i + 1]
            guard bytes[i + 2] == 0x20 else { continue }
            let nameStart = i + 3
            var nameEnd = nameStart
            while nameEnd < lineEnd, bytes[nameEnd] != 0x09, bytes[nameEnd] != 0x20 { nameEnd += 1 }
            guard nameEnd > nameStart else { continue }
            sawAny = true
            if addr != 0 { sawNonZero = true }
            switch type {
            case UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "w"), UInt8(ascii: "W"): break
            default: continue
            }
            if addr == 0 { continue }
            var mod: UInt16 = 0
            var m = nameEnd
            while m < lineEnd, bytes[m] == 0x09 || bytes[m] == 0x20 { m += 1 }
            if m < lineEnd, bytes[m] == UInt8(ascii: "[") {
                var e = m
                while e < lineEnd, bytes[e] != UInt8(ascii: "]") { e += 1 }
                let modName = String(decoding: bytes[(m + 1)..<e], as: UTF8.self)
                if let idx = moduleIndex[modName] {
                    mod = idx
                } else if modules.count < Int(UInt16.max) {
                    mod = UInt16(modules.count)
                    moduleIndex[modName] = mod
                    modules.append("[\(modName)]")
                }
            }
            let rank: UInt8 = type == UInt8(ascii: "T") ? 2 : (type == UInt8(ascii: "W") || type == UInt8(ascii: "w") ? 1 : 0)
            let cap = mod == 0 ? KernelSymbols.maxCoreSymbolSize : KernelSymbols.maxModuleSymbolSize
            let (secEnd, o) = addr.addingReportingOverflow(cap)
            builder.add(start: addr, size: 0, sectionEnd: o ? UInt64.max : secEnd, rank: rank,
                        name: bytes, nameOffset: nameStart, nameLength: nameEnd - nameStart, tag: mod)
        }
        if sawAny && !sawNonZero { throw SymbolizerError.kernelAddressesHidden }
        let table = builder.build()
        self.table = table
        self.moduleNames = modules
        self.bpfModule = moduleIndex["bpf"].map(Int.init)
    }

    /// Reads /proc/kallsyms (read loop to EOF).
    public convenience init(options: SymbolizerOptions = .init(), path: String = "/proc/kallsyms") throws {
        try self.init(kallsyms: readWholeFile(path), options: options)
    }

    /// The symbol at or before `address`, as a frame. Unknown addresses give `[unknown]+0xADDR`.
    public func symbolize(_ address: UInt64) -> Frame {
        frame(address, isReturn: false)
    }

    /// A kernel stack, leaf first. Frames after the leaf are return addresses (looked up at
    /// address-1 when `adjustReturnAddresses`); BPF frames are dropped when `dropBPFFrames`.
    public func symbolize(_ stack: [UInt64]) -> [Frame] {
        var out: [Frame] = []
        out.reserveCapacity(stack.count)
        for (i, a) in stack.enumerated() {
            let f = frame(a, isReturn: i > 0 && options.adjustReturnAddresses)
            if options.dropBPFFrames && f.isBPF { continue }
            out.append(f)
        }
        return out
    }

    private func frame(_ address: UInt64, isReturn: Bool) -> Frame {
        let key = CacheKey(address: address, isReturn: isReturn)
        lock.lock()
        if let f = cache[key] {
            lock.unlock()
            return f
        }
        lock.unlock()
        let f = compute(address, isReturn: isReturn)
        lock.lock()
        cache[key] = f
        lock.unlock()
        return f
    }

    private func compute(_ address: UInt64, isReturn: Bool) -> Frame {
        let lookup = isReturn && address > 0 ? address - 1 : address
        guard let i = table.lookup(lookup) else { return .unknown(address, isKernel: true) }
        let raw = table.name(at: i)
        let mod = Int(table.tags[i])
        let isBPF = (bpfModule != nil && mod == bpfModule!) || raw.hasPrefix("bpf_prog_") || raw.hasPrefix("bpf_trampoline_")
        let name = options.demangle ? Demangler.demangle(raw, style: options.nameStyle) : raw
        return Frame(name: name, module: moduleNames[mod], offset: address &- table.starts[i],
                     isKernel: true, resolved: true, isBPF: isBPF)
    }
}

extension SymbolTable {
    /// Index of the symbol starting exactly at `address`.
    func exactIndex(_ address: UInt64) -> Int? {
        var lo = 0
        var hi = starts.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if starts[mid] < address { lo = mid + 1 } else { hi = mid }
        }
        return lo < starts.count && starts[lo] == address ? lo : nil
    }
}
