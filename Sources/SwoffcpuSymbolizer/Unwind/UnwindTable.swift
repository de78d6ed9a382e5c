import SwoffcpuSystem

/// Compact unwind tables for the kernel-side DWARF unwinder (bpf/unwind.bpf.h,
/// docs/unwinding.md): a module's `.eh_frame` run FDE by FDE into a sorted list of rows, each
/// row 8 bytes, laid out as bpf/swoffcpu.h's `swoffcpu_unwind_row`:
/// `pc (u32) | cfa_off (u16) << 32 | kind (u8) << 48 | rbp_off (s8) << 56`.

/// One module's table.
public struct UnwindTable: Sendable {
    /// `swoffcpu_unwind_row`s as 64-bit words, sorted by pc.
    public var rows: [UInt64] = []
    /// The module's functions keep rbp as a frame pointer: at least `framePointerShare` of the
    /// FDEs of functions that set up a frame at all (only those can be callers).
    public var framePointers = false
    /// FDEs read, and rows that are `unsupported`, for the docs' and the log's figures.
    public var fdes = 0
    public var unsupportedRows = 0

    /// Row kinds (bpf/swoffcpu.h, SWOFFCPU_CFA_*).
    public enum Kind: UInt8 {
        case none = 0, rsp = 1, rbp = 2, plt = 3, end = 4, unsupported = 5
    }

    public static func pack(pc: UInt32, kind: Kind, cfaOffset: UInt16 = 0, rbpOffset: Int8 = 0) -> UInt64 {
        UInt64(pc) | UInt64(cfaOffset) << 32 | UInt64(kind.rawValue) << 48 | UInt64(UInt8(bitPattern: rbpOffset)) << 56
    }

    public static func unpack(_ w: UInt64) -> (pc: UInt32, kind: Kind, cfaOffset: UInt16, rbpOffset: Int8) {
        (UInt32(truncatingIfNeeded: w), Kind(rawValue: UInt8(truncatingIfNeeded: w >> 48)) ?? .unsupported,
         UInt16(truncatingIfNeeded: w >> 32), Int8(bitPattern: UInt8(truncatingIfNeeded: w >> 56)))
    }

    /// The row encoding (without its pc) of a CFI row.
    static func encode(_ row: UnwindRow) -> UInt64 {
        if row[X86Reg.ra] == .undefined { return pack(pc: 0, kind: .end) }
        guard row[X86Reg.ra] == .offset(-8) else { return pack(pc: 0, kind: .unsupported) }
        var rbp: Int8 = 0
        switch row[X86Reg.rbp] {
        case .unspecified, .sameValue: rbp = 0
        case .offset(let n) where n % 8 == 0 && n / 8 >= -128 && n / 8 <= 127 && n != 0: rbp = Int8(n / 8)
        default: return pack(pc: 0, kind: .unsupported)
        }
        switch row.cfa {
        case .registerOffset(let reg, let off) where (reg == X86Reg.rsp || reg == X86Reg.rbp) && off >= 8 && off <= 0xffff:
            return pack(pc: 0, kind: reg == X86Reg.rsp ? .rsp : .rbp, cfaOffset: UInt16(off), rbpOffset: rbp)
        case .pltExpression(let off, let threshold) where off >= 8 && off <= 0xffff:
            return pack(pc: 0, kind: .plt, cfaOffset: UInt16(off), rbpOffset: Int8(threshold))
        default:
            return pack(pc: 0, kind: .unsupported)
        }
    }

    /// Whether a CFI row belongs to a function that moved its stack (not a PLT stub).
    static func setsUpFrame(_ row: UnwindRow) -> Bool {
        if case .pltExpression = row.cfa { return false }
        return row.cfa != .registerOffset(register: X86Reg.rsp, offset: 8)
    }

    /// Whether a CFI row is a frame-pointer frame: CFA = rbp + 16, rbp saved at CFA - 16.
    static func isFramePointerRow(_ row: UnwindRow) -> Bool {
        row.cfa == .registerOffset(register: X86Reg.rbp, offset: 16) && row[X86Reg.rbp] == .offset(-16)
    }

    /// Builds the table of one module's `.eh_frame`. Addresses above 4 GiB cannot be
    /// represented (the table is left empty).
    init(_ info: EhFrameUnwindInfo, framePointerShare: Double = 0.98) {
        let section = info.section
        let index = section.buildIndex()
        var cache: [Int: CIE] = [:]
        var out: [UInt64] = []
        out.reserveCapacity(index.count * 4)
        var lastEnd: UInt64 = 0
        var fpFDEs = 0
        var framedFDEs = 0
        let mask: UInt64 = 0xffff_ffff
        func append(_ pc: UInt64, _ enc: UInt64) {
            // Rows strictly ascending; a row equal to the one before adds nothing.
            while let last = out.last, UInt64(UInt32(truncatingIfNeeded: last)) >= pc { out.removeLast() }
            if let last = out.last, last >> 32 == enc >> 32 { return }
            out.append(pc | (enc & ~mask))
        }
        for e in index {
            guard e.end <= mask, e.start < e.end else { continue }
            guard let fde = try? section.fde(at: e.offset, cieCache: &cache) else { continue }
            fdes += 1
            if !out.isEmpty, e.start > lastEnd { append(lastEnd, Self.pack(pc: 0, kind: .none)) }
            var state = CFAProgram.State(row: UnwindRow(), initial: nil, loc: fde.pcBegin)
            var ok = CFAProgram.run(&state, cie: fde.cie, range: fde.cie.instructions, bytes: section.bytes,
                                    sectionVaddr: section.vaddr, dataBase: section.dataBase, target: nil) == nil
            state.initial = state.row
            state.loc = fde.pcBegin
            var sawFP = false
            var sawFrame = false
            var unsupported = 0
            if ok {
                let end = e.end
                ok = CFAProgram.run(&state, cie: fde.cie, range: fde.instructions, bytes: section.bytes,
                                    sectionVaddr: section.vaddr, dataBase: section.dataBase, target: nil,
                                    emit: { from, to, row in
                    guard to > from, from < end else { return }
                    let enc = Self.encode(row)
                    if UnwindTable.unpack(enc).kind == .unsupported { unsupported += 1 }
                    if Self.isFramePointerRow(row) { sawFP = true }
                    if Self.setsUpFrame(row) { sawFrame = true }
                    append(from, enc)
                }) == nil
            }
            if ok, state.loc < e.end {
                let enc = Self.encode(state.row)
                if UnwindTable.unpack(enc).kind == .unsupported { unsupported += 1 }
                if Self.isFramePointerRow(state.row) { sawFP = true }
                if Self.setsUpFrame(state.row) { sawFrame = true }
                append(state.loc, enc)
            } else if !ok {
                append(e.start, Self.pack(pc: 0, kind: .unsupported))
                unsupported += 1
            }
            unsupportedRows += unsupported
            // A function that never moves its CFA off rsp + 8 calls nothing (a call needs the
            // stack realigned): it is never a caller, whatever it does with rbp.
            if sawFrame { framedFDEs += 1 }
            if sawFP { fpFDEs += 1 }
            lastEnd = max(lastEnd, e.end)
        }
        if !out.isEmpty { append(lastEnd, Self.pack(pc: 0, kind: .none)) }
        rows = out
        // A few functions of any module are not the compiler's (crt's __do_global_dtors_aux, say).
        let allowed = max(2, Int((1 - framePointerShare) * Double(framedFDEs)))
        framePointers = framedFDEs > 0 && fpFDEs + allowed >= framedFDEs
    }

    /// The table of an ELF file's `.eh_frame` (nil when it has none or cannot be read).
    public static func build(elfPath: String) -> UnwindTable? {
        guard let source = try? FileByteSource(path: elfPath), let image = try? ELFImage(source: source, path: elfPath),
              let info = EhFrameUnwindInfo(sections: image.sections, source: source) else { return nil }
        return UnwindTable(info)
    }

    /// The row in effect at `vaddr` (for tests and the docs' checks), as the kernel finds it.
    public func row(at vaddr: UInt64) -> (kind: Kind, cfaOffset: UInt16, rbpOffset: Int8)? {
        guard vaddr <= 0xffff_ffff else { return nil }
        var lo = 0, hi = rows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if UInt64(UInt32(truncatingIfNeeded: rows[mid])) <= vaddr { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let r = Self.unpack(rows[lo - 1])
        return (r.kind, r.cfaOffset, r.rbpOffset)
    }
}

/// One executable mapping of a process, for the kernel side (`swoffcpu_unwind_mapping`).
public struct UnwindMapping: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    /// ELF virtual address = pc - bias.
    public var bias: UInt64
    /// Where its module's table is in the rows given so far; length 0: no table.
    public var tableStart: UInt32
    public var tableLength: UInt32
    public var framePointers: Bool
    /// The mapped file (for the log).
    public var path: String
}

/// The tables of every module of the traced processes, built once a file, concatenated
/// in the order built: what goes into the kernel's `unwind_rows`.
public final class UnwindTableSet: @unchecked Sendable {
    public private(set) var rows: [UInt64] = []
    private var tables: [ObjectIdentifier: (start: UInt32, length: UInt32, fp: Bool)] = [:]
    /// Per module built: path, rows, FDEs, frame pointers, build time (ns): the log and docs figures.
    public private(set) var built: [(path: String, rows: Int, fdes: Int, framePointers: Bool, ns: UInt64)] = []
    /// Rows the kernel's array can hold; a module whose table does not fit gets none (its
    /// frames end the unwind, counted as "no table").
    public var capacity: Int

    public init(capacity: Int = Int(UInt32.max)) {
        self.capacity = capacity
    }

    /// The executable mappings of a process snapshot, each with its module's table (built
    /// now if need be), sorted by start.
    public func mappings(for symbols: ProcessSymbols) -> [UnwindMapping] {
        var out: [UnwindMapping] = []
        for m in symbols.mappings where m.entry.executable {
            var um = UnwindMapping(start: m.entry.start, end: m.entry.end, bias: 0, tableStart: 0, tableLength: 0,
                                   framePointers: false, path: m.entry.path)
            if let mod = m.module, let bias = Self.bias(of: m.entry, loads: mod.loads) {
                um.bias = bias
                if let t = table(for: mod) {
                    um.tableStart = t.start
                    um.tableLength = t.length
                    um.framePointers = t.fp
                }
            }
            out.append(um)
        }
        return out.sorted { $0.start < $1.start }
    }

    /// pc − ELF vaddr for the code of a mapping: from the executable PT_LOAD its file range
    /// overlaps, not from the mapping's first byte. lld lays segments out with p_vaddr − p_offset
    /// differing between segments, and the page-aligned start of an executable mapping can lie in
    /// the file range of the segment before it (seen: a Rust binary, .text at file 0x18490, vaddr
    /// 0x19490, mapped from file offset 0x18000).
    static func bias(of e: MapEntry, loads: [LoadSegment]) -> UInt64? {
        let lo = e.offset, hi = e.offset &+ (e.end &- e.start)
        for l in loads where l.flags & 1 != 0 && l.offset < hi && l.offset &+ l.filesz > lo {
            let fileOffset = max(lo, l.offset)
            let vaddr = l.vaddr &+ (fileOffset &- l.offset)
            return (e.start &+ (fileOffset &- lo)) &- vaddr
        }
        return loads.vaddr(forFileOffset: e.offset).map { e.start &- $0 }
    }

    private func table(for mod: ElfModule) -> (start: UInt32, length: UInt32, fp: Bool)? {
        let key = ObjectIdentifier(mod)
        if let t = tables[key] { return t.length == 0 ? nil : t }
        guard let info = mod.unwindInfo else {
            tables[key] = (0, 0, false)
            return nil
        }
        let t0 = Clock.monotonicNs()
        let t = UnwindTable(info)
        built.append((mod.path, t.rows.count, t.fdes, t.framePointers, Clock.monotonicNs() - t0))
        guard !t.rows.isEmpty, rows.count + t.rows.count <= capacity else {
            tables[key] = (0, 0, false)
            return nil
        }
        let entry = (UInt32(rows.count), UInt32(t.rows.count), t.framePointers)
        rows += t.rows
        tables[key] = entry
        return entry
    }
}
