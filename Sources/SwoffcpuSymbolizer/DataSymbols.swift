/// Names of data addresses (a futex word, a lock): the object symbol of a global or static
/// variable that contains it, else the memory region it lies in. Works on a snapshot, so
/// after the process has exited.

/// What `ProcessSymbols.symbolizeData` found for one address.
public struct DataSymbol: Sendable, Hashable, CustomStringConvertible {
    public enum Region: Sendable, Hashable {
        /// Inside an object symbol (a global or static variable) of a mapped ELF file's data or
        /// bss, including the anonymous mapping that holds the bss beyond the file's last page.
        case object
        /// Inside a mapped file (or its bss) but no symbol covers it: `module+0xVADDR`.
        case image
        /// The brk heap (`[heap]`).
        case heap
        /// The main thread's stack (`[stack]`).
        case mainStack
        /// An anonymous mapping that holds a traced thread's stack pointer: that thread's stack.
        case threadStack(tid: Int32)
        /// Any other anonymous mapping (`[anon]`, or its name `[anon:…]`), or a pseudo-file
        /// mapping (`[vvar]`…).
        case anonymous
        /// In no mapping of the snapshot.
        case unmapped
    }

    public var address: UInt64
    public var region: Region
    /// The object's (demangled) name, for `.object`.
    public var symbol: String?
    /// From the symbol's start (`.object`), else the ELF virtual address (`.image`), else 0.
    public var offset: UInt64
    /// File basename (`.object`, `.image`), or the region's name (`[heap]`, `[stack:1234]`, `[anon]`).
    public var module: String?

    public init(address: UInt64, region: Region, symbol: String? = nil, offset: UInt64 = 0, module: String? = nil) {
        self.address = address
        self.region = region
        self.symbol = symbol
        self.offset = offset
        self.module = module
    }

    /// `g_cache_lock`, `g_struct+0x28`, `libfoo.so+0x4040`, `[heap] 0x55d0c3f2a2a0`,
    /// `[stack:1234] 0x7f…`, `[anon] 0x7f…`, or `0x…` for an unmapped address.
    public var name: String {
        let addr = "0x" + String(address, radix: 16)
        switch region {
        case .object:
            let s = symbol ?? "?"
            return offset == 0 ? s : "\(s)+0x\(String(offset, radix: 16))"
        case .image:
            return "\(module ?? "?")+0x\(String(offset, radix: 16))"
        case .heap, .mainStack, .threadStack, .anonymous:
            return "\(module ?? "[anon]") \(addr)"
        case .unmapped:
            return addr
        }
    }

    public var description: String { name }
}

extension ProcessSymbols {
    /// Names a data address of the process.
    ///
    /// - Parameter stackPointers: user stack pointers of the process's threads (tid → sp seen
    ///   at stack walks): an anonymous mapping holding one is that thread's stack, `[stack:TID]`.
    public func symbolizeData(_ address: UInt64, stackPointers: [Int32: [UInt64]] = [:]) -> DataSymbol {
        guard let i = mappingIndex(address) else { return DataSymbol(address: address, region: .unmapped) }
        let m = mappings[i]
        // The file whose image holds the address: the mapping's own, or for the anonymous
        // mapping right after a file's last mapping, that file (its bss beyond the last page).
        var file: Int? = nil
        if m.entry.isFileBacked {
            file = i
        } else if m.entry.path.isEmpty, i > 0, mappings[i - 1].entry.end == m.entry.start,
                  mappings[i - 1].entry.isFileBacked, mappings[i - 1].module != nil {
            file = i - 1
        }
        if let f = file, let mod = mappings[f].module, let vaddr = elfAddress(address, fileMapping: f, module: mod),
           mod.loads.contains(where: { vaddr >= $0.vaddr && vaddr - $0.vaddr < $0.memsz }) {
            if let si = mod.symbols.lookup(vaddr) {
                let raw = mod.symbols.name(at: si)
                let name = options.demangle ? Demangler.demangle(raw, style: options.nameStyle) : raw
                return DataSymbol(address: address, region: .object, symbol: name,
                                  offset: vaddr - mod.symbols.starts[si], module: mappings[f].name)
            }
            return DataSymbol(address: address, region: .image, offset: vaddr, module: mappings[f].name)
        }
        if m.entry.isFileBacked {
            // A file mapped as data (shared memory, a file without ELF symbols): the file offset.
            return DataSymbol(address: address, region: .image, offset: address - m.entry.start + m.entry.offset,
                              module: m.name)
        }
        switch m.entry.path {
        case "[heap]": return DataSymbol(address: address, region: .heap, module: "[heap]")
        case "[stack]": return DataSymbol(address: address, region: .mainStack, module: "[stack]")
        default: break
        }
        if m.entry.path.isEmpty || m.entry.path.hasPrefix("[anon") {
            let owners = stackPointers.filter { $0.value.contains { $0 >= m.entry.start && $0 < m.entry.end } }.keys
            if let tid = owners.min() {
                return DataSymbol(address: address, region: .threadStack(tid: tid), module: "[stack:\(tid)]")
            }
        }
        return DataSymbol(address: address, region: .anonymous, module: m.name.isEmpty ? "[anon]" : m.name)
    }


    /// The ELF virtual address of `address` in the file of mapping `f`, through the file's load
    /// bias: taken from the closest mapping of the same file at file offset 0 at or below it
    /// (the first PT_LOAD's page), else from mapping `f` itself and the PT_LOAD holding its offset.
    private func elfAddress(_ address: UInt64, fileMapping f: Int, module: ElfModule) -> UInt64? {
        let e = mappings[f].entry
        let page: UInt64 = 0xfff
        func sameFile(_ o: MapEntry) -> Bool {
            o.inode == e.inode && o.devMajor == e.devMajor && o.devMinor == e.devMinor && o.path == e.path
        }
        if let first = module.loads.min(by: { $0.offset < $1.offset }), first.offset & ~page == 0,
           let base = mappings[...f].last(where: { sameFile($0.entry) && $0.entry.offset == 0 }) {
            let bias = base.entry.start &- (first.vaddr & ~page)
            return address >= bias ? address &- bias : nil
        }
        // No offset-0 mapping: the PT_LOAD whose pages hold this mapping's offset, the writable
        // one first when several share a page.
        let candidates = module.loads.filter { e.offset >= ($0.offset & ~page) && e.offset < $0.offset &+ max($0.filesz, 1) }
        guard let l = candidates.first(where: { ($0.flags & 2 != 0) == e.writable }) ?? candidates.last else { return nil }
        let vaddrOfStart = l.vaddr &- l.offset &+ e.offset
        return address &- e.start &+ vaddrOfStart
    }
}
