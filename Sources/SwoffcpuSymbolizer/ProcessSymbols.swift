import Foundation

/// The symbols of one process, taken while it was alive (Symbolizer.snapshotProcess). Holds
/// everything needed to name its addresses afterwards: mappings, parsed ELF modules, the vdso
/// and its JIT perf map. Results are cached per address. Thread-safe.
public final class ProcessSymbols: @unchecked Sendable {
    struct Mapping {
        var entry: MapEntry
        var module: ElfModule?
        /// Basename, "[vdso]", "[anon]", "[heap]"…
        var name: String
    }

    public let pid: Int32
    let mappings: [Mapping]
    let perfMap: SymbolTable
    let options: SymbolizerOptions
    /// Files of the process that could not be read or parsed (their frames fall back to
    /// `module+0xOFFSET`).
    public let problems: [String]

    private let lock = NSLock()
    private var frames: [CacheKey: Frame] = [:]
    private var names: [NameKey: String] = [:]
    /// CFI rows found, by absolute pc (see `cfiLookup`).
    private var cfiRows: [UInt64: LeafUnwinder.Lookup] = [:]

    private struct CacheKey: Hashable {
        var address: UInt64
        var isReturn: Bool
    }

    private struct NameKey: Hashable {
        var module: ObjectIdentifier
        var index: Int
    }

    init(pid: Int32, mappings: [Mapping], perfMap: SymbolTable, options: SymbolizerOptions, problems: [String]) {
        self.pid = pid
        self.mappings = mappings
        self.perfMap = perfMap
        self.options = options
        self.problems = problems
    }

    /// The mappings of the snapshot (from /proc/PID/maps), ascending.
    public var mapEntries: [MapEntry] { mappings.map(\.entry) }

    /// Modules that were parsed, with their symbol counts and the debug file used (diagnostics).
    public var modules: [(path: String, symbols: Int, buildID: String?, debugFile: String?)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, Int, String?, String?)] = []
        for m in mappings {
            guard let mod = m.module, seen.insert(ObjectIdentifier(mod)).inserted else { continue }
            out.append((m.entry.path, mod.symbols.count, mod.buildIDHex, mod.debugFile))
        }
        return out
    }

    /// Mapped files with no `.symtab` and no debug file found (stripped, as distributions ship
    /// them): only their exported functions are named, the rest are `module+0xOFFSET`.
    public var strippedModules: [(path: String, module: String, buildID: String?)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, String, String?)] = []
        for m in mappings {
            guard let mod = m.module, mod.stripped, seen.insert(ObjectIdentifier(mod)).inserted else { continue }
            out.append((m.entry.path, m.name, mod.buildIDHex))
        }
        return out
    }

    /// Names one exact address (an instruction address, not adjusted).
    public func symbolize(_ address: UInt64) -> Frame {
        frame(address, isReturn: false)
    }

    /// Names a user stack, leaf first. Every frame after the leaf is a return address and is
    /// looked up at address-1 when `adjustReturnAddresses` (the default). One frame per address.
    public func symbolize(_ stack: [UInt64]) -> [Frame] {
        var out: [Frame] = []
        out.reserveCapacity(stack.count)
        for (i, a) in stack.enumerated() {
            out.append(symbolize(a, isReturn: isReturnAddress(at: i)))
        }
        return out
    }

    /// Names one frame of a stack, `isReturn` as `isReturnAddress(at:)` says for its position:
    /// for callers that keep names per (address, isReturn) themselves.
    public func symbolize(_ address: UInt64, isReturn: Bool) -> Frame {
        frame(address, isReturn: isReturn)
    }

    /// Whether the frame at `position` of a stack (leaf first) is looked up as a return address.
    public func isReturnAddress(at position: Int) -> Bool {
        position > 0 && options.adjustReturnAddresses
    }

    private func frame(_ address: UInt64, isReturn: Bool) -> Frame {
        let key = CacheKey(address: address, isReturn: isReturn)
        lock.lock()
        defer { lock.unlock() }
        if let f = frames[key] { return f }
        let f = compute(address, isReturn: isReturn)
        frames[key] = f
        return f
    }

    /// `compute(pc)`, computed once per pc: the leaves of 100,000 stacks sit at a few syscall
    /// wrappers, unwound through the same few functions, and finding their mapping, FDE and
    /// row again for every stack was most of the leaf-frame recovery.
    func cachedCFI(_ pc: UInt64, _ compute: (UInt64) -> LeafUnwinder.Lookup) -> LeafUnwinder.Lookup {
        lock.lock()
        let cached = cfiRows[pc]
        lock.unlock()
        if let cached { return cached }
        let lookup = compute(pc)
        lock.lock()
        if cfiRows.count < 1 << 16 { cfiRows[pc] = lookup }
        lock.unlock()
        return lookup
    }

    /// How many of `addresses` fall in an executable mapping of this snapshot: which of two
    /// snapshots of one process (before and after an exec) a stack was walked in.
    public func executableHits(_ addresses: [UInt64]) -> Int {
        addresses.reduce(0) { n, a in mappingIndex(a).map { mappings[$0].entry.executable ? n + 1 : n } ?? n }
    }

    /// Whether `address` can be no return address: it lies in a mapping that is not executable
    /// (data, heap, a thread's stack: a walk gone astray), or in no mapping at all of this
    /// snapshot and no perf map names it (a frame-pointer walk read a value, such
    /// as a 50 ms timespec, past the outermost frame). Code mapped after the snapshot is in the
    /// one taken at the end, for a process still alive then.
    public func isNeverCode(_ address: UInt64) -> Bool {
        if let i = mappingIndex(address) { return !mappings[i].entry.executable }
        return !mappings.isEmpty && perfMap.lookup(address &- 1) == nil && perfMap.lookup(address) == nil
    }

    /// The mapping containing `address` (binary search over the sorted mappings).
    func mappingIndex(_ address: UInt64) -> Int? {
        var lo = 0
        var hi = mappings.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if mappings[mid].entry.start <= address { lo = mid + 1 } else { hi = mid }
        }
        let i = lo - 1
        return i >= 0 && address < mappings[i].entry.end ? i : nil
    }

    /// Called with the lock held.
    private func compute(_ address: UInt64, isReturn: Bool) -> Frame {
        let lookup = isReturn && address > 0 ? address - 1 : address
        guard let mi = mappingIndex(lookup) ?? mappingIndex(address) else {
            return perfMapFrame(address, lookup: lookup) ?? .unknown(address, isKernel: false)
        }
        let m = mappings[mi]
        let fileOffset = address &- m.entry.start &+ m.entry.offset
        let lookupOffset = lookup &- m.entry.start &+ m.entry.offset
        if let mod = m.module {
            let vaddr = mod.loads.vaddr(forFileOffset: fileOffset)
            if let lv = mod.loads.vaddr(forFileOffset: lookupOffset), let si = mod.symbols.lookup(lv),
               mod.symbols.tags[si] != 0 { // a code symbol, never a variable's
                let start = mod.symbols.starts[si]
                return Frame(name: symbolName(mod, si), module: m.name, offset: (vaddr ?? lv) &- start,
                             isKernel: false, resolved: true)
            }
            let off = vaddr ?? fileOffset
            return Frame(name: "\(m.name)+\(hex(off))", module: m.name, offset: off, isKernel: false, resolved: false)
        }
        if !m.entry.isFileBacked, let f = perfMapFrame(address, lookup: lookup) { return f }
        if m.entry.isFileBacked || m.name == "[vdso]" {
            return Frame(name: "\(m.name)+\(hex(fileOffset))", module: m.name, offset: fileOffset, isKernel: false, resolved: false)
        }
        return Frame(name: "\(m.name)+\(hex(address))", module: m.name, offset: address, isKernel: false, resolved: false)
    }

    private func perfMapFrame(_ address: UInt64, lookup: UInt64) -> Frame? {
        guard let i = perfMap.lookup(lookup) else { return nil }
        return Frame(name: perfMap.name(at: i), module: "[jit]", offset: address &- perfMap.starts[i],
                     isKernel: false, resolved: true)
    }

    private func symbolName(_ mod: ElfModule, _ index: Int) -> String {
        let key = NameKey(module: ObjectIdentifier(mod), index: index)
        if let n = names[key] { return n }
        let raw = mod.symbols.name(at: index)
        let n = options.demangle ? Demangler.demangle(raw, style: options.nameStyle) : raw
        names[key] = n
        return n
    }
}
