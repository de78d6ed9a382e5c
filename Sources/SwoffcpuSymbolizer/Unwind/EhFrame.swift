import Foundation

/// `.eh_frame` / `.eh_frame_hdr` parsing (the LSB "Exception Frames" format: DWARF CFI with
/// GNU pointer encodings). Every read is bounds-checked: malformed input gives nil or an
/// error, never a trap. Addresses are the module's ELF virtual addresses.

/// DW_EH_PE_* pointer encodings: the low nibble is the value format, the high nibble how it
/// is applied; 0x80 adds an indirection, 0xff means "no value".
enum DwEhPe {
    static let absptr: UInt8 = 0x00
    static let uleb128: UInt8 = 0x01
    static let udata2: UInt8 = 0x02
    static let udata4: UInt8 = 0x03
    static let udata8: UInt8 = 0x04
    static let sleb128: UInt8 = 0x09
    static let sdata2: UInt8 = 0x0a
    static let sdata4: UInt8 = 0x0b
    static let sdata8: UInt8 = 0x0c
    static let pcrel: UInt8 = 0x10
    static let textrel: UInt8 = 0x20
    static let datarel: UInt8 = 0x30
    static let funcrel: UInt8 = 0x40
    static let aligned: UInt8 = 0x50
    static let indirect: UInt8 = 0x80
    static let omit: UInt8 = 0xff

    /// Size of a fixed-size format, nil for LEB128 (and unknown formats).
    static func fixedSize(_ enc: UInt8) -> Int? {
        switch enc & 0x0f {
        case absptr, udata8, sdata8: return 8
        case udata4, sdata4: return 4
        case udata2, sdata2: return 2
        default: return nil
        }
    }
}

/// A bounds-checked little-endian cursor over `bytes[offset..<end]`.
struct DwarfCursor {
    let bytes: [UInt8]
    var offset: Int
    let end: Int
    /// ELF virtual address of `bytes[0]` (for pc-relative pointers).
    let baseVaddr: UInt64

    init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil, baseVaddr: UInt64 = 0) {
        self.bytes = bytes
        self.offset = offset
        self.end = Swift.max(0, Swift.min(end ?? bytes.count, bytes.count))
        self.baseVaddr = baseVaddr
    }

    var atEnd: Bool { offset >= end }
    var remaining: Int { Swift.max(0, end - offset) }

    mutating func u8() -> UInt8? {
        guard offset >= 0, offset < end else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16? {
        guard offset >= 0, end - offset >= 2, let v = bytes.u16(at: offset) else { return nil }
        offset += 2
        return v
    }

    mutating func u32() -> UInt32? {
        guard offset >= 0, end - offset >= 4, let v = bytes.u32(at: offset) else { return nil }
        offset += 4
        return v
    }

    mutating func u64() -> UInt64? {
        guard offset >= 0, end - offset >= 8, let v = bytes.u64(at: offset) else { return nil }
        offset += 8
        return v
    }

    /// Unsigned LEB128; nil when truncated or longer than 10 bytes. Bits past 64 are dropped.
    mutating func uleb() -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<10 {
            guard let b = u8() else { return nil }
            if shift < 64 { v |= UInt64(b & 0x7f) << shift }
            shift += 7
            if b & 0x80 == 0 { return v }
        }
        return nil
    }

    /// Signed LEB128; nil when truncated or longer than 10 bytes.
    mutating func sleb() -> Int64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<10 {
            guard let b = u8() else { return nil }
            if shift < 64 { v |= UInt64(b & 0x7f) << shift }
            shift += 7
            if b & 0x80 == 0 {
                if shift < 64, b & 0x40 != 0 { v |= ~UInt64(0) << shift }
                return Int64(bitPattern: v)
            }
        }
        return nil
    }

    mutating func skip(_ n: UInt64) -> Bool {
        guard n <= UInt64(remaining) else { return false }
        offset += Int(n)
        return true
    }

    /// Reads a pointer in encoding `enc`. `dataBase` is the base of DW_EH_PE_datarel
    /// (.eh_frame_hdr's address), `funcBase` of DW_EH_PE_funcrel. Returns the value and
    /// whether it is indirect (the address of the pointer, which is not dereferenced here).
    /// nil for DW_EH_PE_omit, unknown encodings, textrel, a missing base or truncation.
    mutating func pointer(_ enc: UInt8, dataBase: UInt64? = nil, funcBase: UInt64? = nil) -> (value: UInt64, indirect: Bool)? {
        if enc == DwEhPe.omit { return nil }
        let application = enc & 0x70
        if application == DwEhPe.aligned {
            // Aligned to the pointer size in the address space, then an absolute pointer.
            let here = baseVaddr &+ UInt64(clamping: offset)
            let pad = (8 &- (here & 7)) & 7
            guard skip(pad), let v = u64() else { return nil }
            return (v, enc & DwEhPe.indirect != 0)
        }
        let fieldVaddr = baseVaddr &+ UInt64(clamping: offset)
        var raw: UInt64
        switch enc & 0x0f {
        case DwEhPe.absptr, DwEhPe.udata8: guard let v = u64() else { return nil }; raw = v
        case DwEhPe.uleb128: guard let v = uleb() else { return nil }; raw = v
        case DwEhPe.udata2: guard let v = u16() else { return nil }; raw = UInt64(v)
        case DwEhPe.udata4: guard let v = u32() else { return nil }; raw = UInt64(v)
        case DwEhPe.sleb128: guard let v = sleb() else { return nil }; raw = UInt64(bitPattern: v)
        case DwEhPe.sdata2: guard let v = u16() else { return nil }; raw = UInt64(bitPattern: Int64(Int16(bitPattern: v)))
        case DwEhPe.sdata4: guard let v = u32() else { return nil }; raw = UInt64(bitPattern: Int64(Int32(bitPattern: v)))
        case DwEhPe.sdata8: guard let v = u64() else { return nil }; raw = v
        default: return nil
        }
        switch application {
        case 0: break
        case DwEhPe.pcrel: raw = raw &+ fieldVaddr
        case DwEhPe.datarel:
            guard let dataBase else { return nil }
            raw = raw &+ dataBase
        case DwEhPe.funcrel:
            guard let funcBase else { return nil }
            raw = raw &+ funcBase
        default: return nil  // textrel (never used on x86-64) and unknown applications
        }
        return (raw, enc & DwEhPe.indirect != 0)
    }
}

/// A Common Information Entry.
struct CIE: Equatable, Sendable {
    /// Offset of the entry (its length field) in the section.
    var offset: Int
    var version: UInt8
    var augmentation: String
    var codeAlignment: UInt64
    var dataAlignment: Int64
    var returnAddressRegister: UInt64
    /// DW_EH_PE_* of the FDEs' pc_begin / pc_range (absptr without an 'R' augmentation).
    var fdeEncoding: UInt8 = DwEhPe.absptr
    var lsdaEncoding: UInt8 = DwEhPe.omit
    /// The augmentation starts with 'z': FDEs carry an augmentation data length.
    var hasAugmentationData = false
    /// 'S': a signal frame (its pc is not a return address).
    var isSignalFrame = false
    /// Offsets of the initial instructions in the section.
    var instructions: Range<Int>
}

/// A Frame Description Entry.
struct FDE: Equatable, Sendable {
    var offset: Int
    var cie: CIE
    var pcBegin: UInt64
    var pcRange: UInt64
    var instructions: Range<Int>

    /// Exclusive end of the covered range (saturating).
    var pcEnd: UInt64 {
        let (e, o) = pcBegin.addingReportingOverflow(pcRange)
        return o ? UInt64.max : e
    }

    func contains(_ pc: UInt64) -> Bool { pc >= pcBegin && pc < pcEnd }
}

enum EhFrameError: Error, Equatable, Sendable {
    case truncated(offset: Int)
    case terminator(offset: Int)
    case notCIE(offset: Int)
    case notFDE(offset: Int)
    case unsupportedVersion(UInt8)
    case unsupportedAugmentation(String)
    case badPointer(offset: Int)
}

/// One `.eh_frame` section: its bytes and ELF virtual address.
struct EhFrameSection: Sendable {
    let bytes: [UInt8]
    let vaddr: UInt64
    /// `.eh_frame_hdr`'s address, the base of DW_EH_PE_datarel (nil when there is none).
    let dataBase: UInt64?

    init(bytes: [UInt8], vaddr: UInt64, dataBase: UInt64? = nil) {
        self.bytes = bytes
        self.vaddr = vaddr
        self.dataBase = dataBase
    }

    enum Entry: Equatable {
        case cie(CIE)
        case fde(FDE)
        /// Length 0: the end of the section's entries.
        case terminator
    }

    /// The length and id fields of the entry at `offset`: where its content starts
    /// (after the length), where it ends, the id value and the id field's offset.
    private func header(at offset: Int) throws -> (contentEnd: Int, id: UInt64, idOffset: Int, idSize: Int) {
        var c = DwarfCursor(bytes, offset: offset, baseVaddr: vaddr)
        guard offset >= 0, let len32 = c.u32() else { throw EhFrameError.truncated(offset: offset) }
        if len32 == 0 { throw EhFrameError.terminator(offset: offset) }
        var length = UInt64(len32)
        var idSize = 4
        if len32 == 0xffff_ffff {
            guard let l = c.u64() else { throw EhFrameError.truncated(offset: offset) }
            length = l
            idSize = 8
        }
        guard length <= UInt64(c.remaining), length >= UInt64(idSize) else { throw EhFrameError.truncated(offset: offset) }
        let contentEnd = c.offset + Int(length)
        let idOffset = c.offset
        let id: UInt64
        if idSize == 4 {
            guard let v = c.u32() else { throw EhFrameError.truncated(offset: offset) }
            id = UInt64(v)
        } else {
            guard let v = c.u64() else { throw EhFrameError.truncated(offset: offset) }
            id = v
        }
        return (contentEnd, id, idOffset, idSize)
    }

    /// Offset of the entry after the one at `offset` (nil at a terminator or a broken length).
    func nextEntryOffset(after offset: Int) -> Int? {
        (try? header(at: offset)).map(\.contentEnd)
    }

    /// Parses the entry at `offset`.
    func entry(at offset: Int) throws -> Entry {
        let h: (contentEnd: Int, id: UInt64, idOffset: Int, idSize: Int)
        do { h = try header(at: offset) } catch EhFrameError.terminator { return .terminator }
        if h.id == 0 { return .cie(try cie(at: offset)) }
        return .fde(try fde(at: offset))
    }

    /// Parses the CIE at `offset`.
    func cie(at offset: Int) throws -> CIE {
        let h = try header(at: offset)
        guard h.id == 0 else { throw EhFrameError.notCIE(offset: offset) }
        var c = DwarfCursor(bytes, offset: h.idOffset + h.idSize, end: h.contentEnd, baseVaddr: vaddr)
        guard let version = c.u8() else { throw EhFrameError.truncated(offset: offset) }
        guard version == 1 || version == 3 || version == 4 else { throw EhFrameError.unsupportedVersion(version) }
        var aug: [UInt8] = []
        while true {
            guard let b = c.u8() else { throw EhFrameError.truncated(offset: offset) }
            if b == 0 { break }
            aug.append(b)
            if aug.count > 32 { throw EhFrameError.unsupportedAugmentation(String(decoding: aug, as: UTF8.self)) }
        }
        let augmentation = String(decoding: aug, as: UTF8.self)
        if aug.starts(with: [UInt8(ascii: "e"), UInt8(ascii: "h")]) {
            // Old GCC: an EH data pointer follows.
            guard c.skip(8) else { throw EhFrameError.truncated(offset: offset) }
        }
        if version == 4 {
            // address_size, segment_selector_size
            guard let asz = c.u8(), let ssz = c.u8() else { throw EhFrameError.truncated(offset: offset) }
            guard asz == 8, ssz == 0 else { throw EhFrameError.unsupportedAugmentation("address size \(asz)") }
        }
        guard let codeAlign = c.uleb(), let dataAlign = c.sleb() else { throw EhFrameError.truncated(offset: offset) }
        let ra: UInt64
        if version == 1 {
            guard let r = c.u8() else { throw EhFrameError.truncated(offset: offset) }
            ra = UInt64(r)
        } else {
            guard let r = c.uleb() else { throw EhFrameError.truncated(offset: offset) }
            ra = r
        }
        var cie = CIE(offset: offset, version: version, augmentation: augmentation, codeAlignment: codeAlign,
                      dataAlignment: dataAlign, returnAddressRegister: ra, instructions: 0..<0)
        var instructionsStart = c.offset
        if aug.first == UInt8(ascii: "z") {
            cie.hasAugmentationData = true
            guard let augLen = c.uleb(), augLen <= UInt64(c.remaining) else { throw EhFrameError.truncated(offset: offset) }
            instructionsStart = c.offset + Int(augLen)
            var a = DwarfCursor(bytes, offset: c.offset, end: instructionsStart, baseVaddr: vaddr)
            for ch in aug.dropFirst() {
                switch ch {
                case UInt8(ascii: "L"):
                    guard let e = a.u8() else { throw EhFrameError.truncated(offset: offset) }
                    cie.lsdaEncoding = e
                case UInt8(ascii: "R"):
                    guard let e = a.u8() else { throw EhFrameError.truncated(offset: offset) }
                    cie.fdeEncoding = e
                case UInt8(ascii: "P"):
                    guard let e = a.u8() else { throw EhFrameError.truncated(offset: offset) }
                    // The personality routine's address: only its size matters here.
                    let format = e & 0x70 == DwEhPe.aligned ? DwEhPe.aligned : e & 0x0f
                    if e != DwEhPe.omit, a.pointer(format) == nil {
                        throw EhFrameError.badPointer(offset: a.offset)
                    }
                case UInt8(ascii: "S"):
                    cie.isSignalFrame = true
                case UInt8(ascii: "B"), UInt8(ascii: "G"):
                    break  // AArch64 B-key / MTE: no data
                default:
                    // Unknown: the augmentation data length lets us skip the rest.
                    break
                }
            }
        } else if !aug.isEmpty && !(aug == [UInt8(ascii: "e"), UInt8(ascii: "h")]) {
            throw EhFrameError.unsupportedAugmentation(augmentation)
        }
        guard instructionsStart <= h.contentEnd else { throw EhFrameError.truncated(offset: offset) }
        cie.instructions = instructionsStart..<h.contentEnd
        return cie
    }

    /// Parses the FDE at `offset` (and its CIE). `cieCache` avoids re-parsing shared CIEs.
    func fde(at offset: Int, cieCache: inout [Int: CIE]) throws -> FDE {
        let h = try header(at: offset)
        guard h.id != 0 else { throw EhFrameError.notFDE(offset: offset) }
        // The CIE pointer is the distance back from the id field to the CIE.
        guard h.id <= UInt64(h.idOffset) else { throw EhFrameError.truncated(offset: offset) }
        let cieOffset = h.idOffset - Int(h.id)
        let cie: CIE
        if let cached = cieCache[cieOffset] {
            cie = cached
        } else {
            cie = try self.cie(at: cieOffset)
            if cieCache.count < 4096 { cieCache[cieOffset] = cie }
        }
        var c = DwarfCursor(bytes, offset: h.idOffset + h.idSize, end: h.contentEnd, baseVaddr: vaddr)
        guard let begin = c.pointer(cie.fdeEncoding, dataBase: dataBase), !begin.indirect else {
            throw EhFrameError.badPointer(offset: c.offset)
        }
        // pc_range: the value format only, never relative.
        guard let range = c.pointer(cie.fdeEncoding & 0x0f, dataBase: dataBase) else {
            throw EhFrameError.badPointer(offset: c.offset)
        }
        if cie.hasAugmentationData {
            guard let augLen = c.uleb(), c.skip(augLen) else { throw EhFrameError.truncated(offset: offset) }
        }
        return FDE(offset: offset, cie: cie, pcBegin: begin.value, pcRange: range.value, instructions: c.offset..<h.contentEnd)
    }

    func fde(at offset: Int) throws -> FDE {
        var cache: [Int: CIE] = [:]
        return try fde(at: offset, cieCache: &cache)
    }

    /// Every FDE of the section, as (pc_begin, pc_end, offset), sorted by pc_begin. Stops at a
    /// terminator or at the first entry whose length is broken; skips FDEs that do not parse.
    func buildIndex(limit: Int = 1 << 21) -> [FDEIndexEntry] {
        var out: [FDEIndexEntry] = []
        var cache: [Int: CIE] = [:]
        var offset = 0
        while offset < bytes.count, out.count < limit {
            guard let next = nextEntryOffset(after: offset), next > offset else { break }
            if let f = try? fde(at: offset, cieCache: &cache), f.pcRange > 0 {
                out.append(FDEIndexEntry(start: f.pcBegin, end: f.pcEnd, offset: offset))
            }
            offset = next
        }
        out.sort { $0.start < $1.start }
        return out
    }
}

struct FDEIndexEntry: Equatable, Sendable {
    var start: UInt64
    var end: UInt64
    var offset: Int
}

/// `.eh_frame_hdr`: a binary-search table of (initial location, FDE address).
struct EhFrameHeader: Sendable {
    let bytes: [UInt8]
    let vaddr: UInt64
    /// Where `.eh_frame` is, according to the header.
    let ehFramePointer: UInt64
    let count: Int
    let tableOffset: Int
    let tableEncoding: UInt8
    let entrySize: Int

    /// nil when the header is malformed or its table cannot be searched (no table, LEB128 or
    /// unknown encodings, a table larger than the section).
    init?(bytes: [UInt8], vaddr: UInt64) {
        var c = DwarfCursor(bytes, baseVaddr: vaddr)
        guard let version = c.u8(), version == 1, let ptrEnc = c.u8(), let countEnc = c.u8(), let tableEnc = c.u8() else { return nil }
        guard let ptr = c.pointer(ptrEnc, dataBase: vaddr), !ptr.indirect else { return nil }
        guard countEnc != DwEhPe.omit, tableEnc != DwEhPe.omit,
              let n = c.pointer(countEnc, dataBase: vaddr), !n.indirect else { return nil }
        guard let size = DwEhPe.fixedSize(tableEnc), tableEnc & DwEhPe.indirect == 0 else { return nil }
        let application = tableEnc & 0x70
        guard application == 0 || application == DwEhPe.datarel || application == DwEhPe.pcrel else { return nil }
        guard n.value <= UInt64(c.remaining / (2 * size)) else { return nil }
        self.bytes = bytes
        self.vaddr = vaddr
        self.ehFramePointer = ptr.value
        self.count = Int(n.value)
        self.tableOffset = c.offset
        self.tableEncoding = tableEnc
        self.entrySize = 2 * size
    }

    private func entry(_ i: Int) -> (loc: UInt64, fde: UInt64)? {
        var c = DwarfCursor(bytes, offset: tableOffset + i * entrySize, baseVaddr: vaddr)
        guard let loc = c.pointer(tableEncoding, dataBase: vaddr), let fde = c.pointer(tableEncoding, dataBase: vaddr) else { return nil }
        return (loc.value, fde.value)
    }

    /// Address of the FDE whose initial location is the last one <= `pc` (it may still not
    /// cover `pc`: the caller checks its range).
    func fdeAddress(for pc: UInt64) -> UInt64? {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) >> 1
            guard let e = entry(mid) else { return nil }
            if e.loc <= pc { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, let e = entry(lo - 1) else { return nil }
        return e.fde
    }
}

/// The CFI of one module: `.eh_frame`, searched through `.eh_frame_hdr` when it has a usable
/// table, else through an index of every FDE built on first use. Immutable apart from that
/// lazily built index; thread-safe.
final class EhFrameUnwindInfo: @unchecked Sendable {
    let section: EhFrameSection
    let header: EhFrameHeader?
    private let lock = NSLock()
    private var index: [FDEIndexEntry]?

    /// Largest `.eh_frame` / `.eh_frame_hdr` read (libswiftCore's is ~0.6 MB).
    static let maxSectionSize: UInt64 = 64 << 20

    init(ehFrame: [UInt8], ehFrameVaddr: UInt64, header: [UInt8]? = nil, headerVaddr: UInt64 = 0) {
        let hdr = header.flatMap { EhFrameHeader(bytes: $0, vaddr: headerVaddr) }
        self.section = EhFrameSection(bytes: ehFrame, vaddr: ehFrameVaddr, dataBase: header == nil ? nil : headerVaddr)
        // A header that points elsewhere than our .eh_frame is not trusted.
        self.header = hdr.flatMap { $0.ehFramePointer == ehFrameVaddr ? $0 : nil }
    }

    /// Reads `.eh_frame` (and `.eh_frame_hdr`) of an ELF image; nil when it has none.
    convenience init?(sections: [SectionHeader], source: ByteSource) {
        func read(_ name: String) -> (bytes: [UInt8], vaddr: UInt64)? {
            guard let s = sections.first(where: { $0.name == name }), s.type != ELFConst.shtNobits,
                  (s.flags & ELFConst.shfCompressed) == 0, s.size > 0, s.size <= EhFrameUnwindInfo.maxSectionSize,
                  let b = source.read(s.offset, Int(s.size)) else { return nil }
            return (b, s.addr)
        }
        guard let eh = read(".eh_frame") else { return nil }
        let hdr = read(".eh_frame_hdr")
        self.init(ehFrame: eh.bytes, ehFrameVaddr: eh.vaddr, header: hdr?.bytes, headerVaddr: hdr?.vaddr ?? 0)
    }

    /// The FDE covering `pc` (an ELF virtual address of the module), if any.
    func fde(for pc: UInt64) -> FDE? {
        if let header {
            guard let addr = header.fdeAddress(for: pc), addr >= section.vaddr,
                  addr - section.vaddr < UInt64(section.bytes.count) else { return nil }
            guard let f = try? section.fde(at: Int(addr - section.vaddr)), f.contains(pc) else { return nil }
            return f
        }
        let idx = sortedIndex()
        var lo = 0
        var hi = idx.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if idx[mid].start <= pc { lo = mid + 1 } else { hi = mid }
        }
        // Step back over a few overlapping entries (zero-length or nested FDEs in odd files).
        var i = lo - 1
        var steps = 0
        while i >= 0, steps < 8 {
            if idx[i].end > pc { return try? section.fde(at: idx[i].offset) }
            i -= 1
            steps += 1
        }
        return nil
    }

    private func sortedIndex() -> [FDEIndexEntry] {
        lock.lock()
        defer { lock.unlock() }
        if let index { return index }
        let built = section.buildIndex()
        index = built
        return built
    }

    /// The unwind row of `pc` (module address): nil when no FDE covers it.
    func row(for pc: UInt64) -> Result<UnwindRow, CFIError>? {
        guard let f = fde(for: pc) else { return nil }
        return CFAProgram.row(for: f, in: section, at: pc)
    }
}
