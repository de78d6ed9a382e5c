/// A small ELF64 little-endian reader: file header, program headers, section headers, notes
/// (GNU build-id), .gnu_debuglink and the symbol tables. Every read is bounds-checked against the
/// source; malformed input gives SymbolizerError or fewer symbols, never a trap.

enum ELFConst {
    static let ptLoad: UInt32 = 1
    static let ptNote: UInt32 = 4
    static let shtSymtab: UInt32 = 2
    static let shtStrtab: UInt32 = 3
    static let shtNote: UInt32 = 7
    static let shtNobits: UInt32 = 8
    static let shtDynsym: UInt32 = 11
    static let shfAlloc: UInt64 = 0x2
    static let shfExecinstr: UInt64 = 0x4
    static let shfCompressed: UInt64 = 0x800
    static let sttNotype: UInt8 = 0
    static let sttObject: UInt8 = 1
    static let sttFunc: UInt8 = 2
    static let sttGnuIfunc: UInt8 = 10
    static let stbLocal: UInt8 = 0
    static let stbGlobal: UInt8 = 1
    static let stbWeak: UInt8 = 2
    static let ntGnuBuildID: UInt32 = 3
    static let shnUndef: UInt16 = 0
    static let shnLoreserve: UInt16 = 0xff00
    static let shnXindex: UInt16 = 0xffff
    static let etExec: UInt16 = 2
    static let etDyn: UInt16 = 3
}

struct LoadSegment: Sendable, Hashable {
    var offset: UInt64
    var vaddr: UInt64
    var filesz: UInt64
    var memsz: UInt64
    var flags: UInt32
    var align: UInt64
}

struct SectionHeader: Sendable {
    var name: String
    var type: UInt32
    var flags: UInt64
    var addr: UInt64
    var offset: UInt64
    var size: UInt64
    var link: UInt32
    var info: UInt32
    var addralign: UInt64
    var entsize: UInt64
}

struct ELFImage {
    let path: String
    let type: UInt16
    let machine: UInt16
    let loads: [LoadSegment]
    let sections: [SectionHeader]
    let buildID: [UInt8]?
    let debugLink: (name: String, crc: UInt32)?
    let source: ByteSource
    private let noteSegments: [(offset: UInt64, size: UInt64, align: UInt64)]

    var hasSymtab: Bool { sections.contains { $0.type == ELFConst.shtSymtab && $0.size > 0 } }

    /// Parses headers, notes and the debuglink; symbols are read on demand by `appendSymbols`.
    init(source: ByteSource, path: String) throws {
        self.source = source
        self.path = path
        guard let eh = source.read(0, 64) else {
            if source.size >= 4, let m = source.read(0, 4), m == [0x7f, 0x45, 0x4c, 0x46] {
                throw SymbolizerError.malformedELF(path: path, reason: "truncated header")
            }
            throw SymbolizerError.notELF(path: path)
        }
        guard eh[0] == 0x7f, eh[1] == 0x45, eh[2] == 0x4c, eh[3] == 0x46 else { throw SymbolizerError.notELF(path: path) }
        guard eh[4] == 2 else { throw SymbolizerError.unsupportedELF(path: path, reason: "not ELF64 (class \(eh[4]))") }
        guard eh[5] == 1 else { throw SymbolizerError.unsupportedELF(path: path, reason: "not little-endian") }
        let type = eh.u16(at: 16)!
        let machine = eh.u16(at: 18)!
        let phoff = eh.u64(at: 32)!
        let shoff = eh.u64(at: 40)!
        let phentsize = Int(eh.u16(at: 54)!)
        var phnum = Int(eh.u16(at: 56)!)
        let shentsize = Int(eh.u16(at: 58)!)
        var shnum = Int(eh.u16(at: 60)!)
        var shstrndx = Int(eh.u16(at: 62)!)
        self.type = type
        self.machine = machine

        // Extended numbering lives in section header 0.
        var sh0: [UInt8]? = nil
        if shoff != 0, shentsize >= 64 {
            sh0 = source.read(shoff, 64)
        }
        if let s0 = sh0 {
            if shnum == 0, let n = s0.u64(at: 32), n < 1 << 20 { shnum = Int(n) }
            if shstrndx == Int(ELFConst.shnXindex), let l = s0.u32(at: 40) { shstrndx = Int(l) }
            if phnum == 0xffff, let i = s0.u32(at: 44) { phnum = Int(i) }
        } else {
            shnum = 0
        }

        // Program headers.
        var loads: [LoadSegment] = []
        var notes: [(UInt64, UInt64, UInt64)] = []
        if phoff != 0, phnum > 0, phentsize >= 56, phnum <= 1 << 16 {
            if let ph = source.read(phoff, phnum * phentsize) {
                for i in 0..<phnum {
                    let b = i * phentsize
                    guard let ptype = ph.u32(at: b), let flags = ph.u32(at: b + 4), let off = ph.u64(at: b + 8),
                          let vaddr = ph.u64(at: b + 16), let filesz = ph.u64(at: b + 32), let memsz = ph.u64(at: b + 40),
                          let align = ph.u64(at: b + 48) else { break }
                    if ptype == ELFConst.ptLoad {
                        loads.append(LoadSegment(offset: off, vaddr: vaddr, filesz: filesz, memsz: memsz, flags: flags, align: align))
                    } else if ptype == ELFConst.ptNote {
                        notes.append((off, filesz, align))
                    }
                }
            }
        }
        self.loads = loads
        self.noteSegments = notes

        // Section headers and their names.
        var sections: [SectionHeader] = []
        if shnum > 0, shentsize >= 64, let sh = source.read(shoff, shnum * shentsize) {
            var raw: [(UInt32, UInt32, UInt64, UInt64, UInt64, UInt64, UInt32, UInt32, UInt64, UInt64)] = []
            raw.reserveCapacity(shnum)
            for i in 0..<shnum {
                let b = i * shentsize
                raw.append((sh.u32(at: b)!, sh.u32(at: b + 4)!, sh.u64(at: b + 8)!, sh.u64(at: b + 16)!,
                            sh.u64(at: b + 24)!, sh.u64(at: b + 32)!, sh.u32(at: b + 40)!, sh.u32(at: b + 44)!,
                            sh.u64(at: b + 48)!, sh.u64(at: b + 56)!))
            }
            var names: [UInt8] = []
            if shstrndx > 0, shstrndx < raw.count, raw[shstrndx].1 != ELFConst.shtNobits, raw[shstrndx].5 <= 1 << 24,
               let n = source.read(raw[shstrndx].4, Int(raw[shstrndx].5)) {
                names = n
            }
            for r in raw {
                let name = names.cString(at: Int(r.0), limit: 256) ?? ""
                sections.append(SectionHeader(name: name, type: r.1, flags: r.2, addr: r.3, offset: r.4, size: r.5,
                                              link: r.6, info: r.7, addralign: r.8, entsize: r.9))
            }
        }
        self.sections = sections

        // Build-id: note sections first, PT_NOTE segments when there are no sections.
        var buildID: [UInt8]? = nil
        for s in sections where s.type == ELFConst.shtNote && s.size <= 1 << 20 && (s.flags & ELFConst.shfCompressed) == 0 {
            if let b = source.read(s.offset, Int(s.size)), let id = ELFImage.findBuildID(b, align: s.addralign) {
                buildID = id
                break
            }
        }
        if buildID == nil {
            for n in notes where n.1 <= 1 << 20 {
                if let b = source.read(n.0, Int(n.1)), let id = ELFImage.findBuildID(b, align: n.2) {
                    buildID = id
                    break
                }
            }
        }
        self.buildID = buildID

        var debugLink: (String, UInt32)? = nil
        if let s = sections.first(where: { $0.name == ".gnu_debuglink" }), s.type != ELFConst.shtNobits,
           s.size >= 5, s.size <= 4096, let b = source.read(s.offset, Int(s.size)) {
            let len = b.cStringLength(at: 0)
            let crcOff = (len + 1 + 3) & ~3
            if len > 0, len < b.count, let crc = b.u32(at: crcOff) {
                debugLink = (String(decoding: b[0..<len], as: UTF8.self), crc)
            }
        }
        self.debugLink = debugLink
    }

    /// GNU build-id from a block of notes.
    static func findBuildID(_ b: [UInt8], align: UInt64) -> [UInt8]? {
        let a = align == 8 ? 8 : 4
        func up(_ v: Int) -> Int { (v + a - 1) & ~(a - 1) }
        var o = 0
        while o + 12 <= b.count {
            guard let namesz = b.u32(at: o), let descsz = b.u32(at: o + 4), let type = b.u32(at: o + 8) else { return nil }
            guard namesz < 1 << 16, descsz < 1 << 20 else { return nil }
            let nameOff = o + 12
            let descOff = nameOff + up(Int(namesz))
            let next = descOff + up(Int(descsz))
            guard descOff + Int(descsz) <= b.count else { return nil }
            if type == ELFConst.ntGnuBuildID, namesz == 4, b[nameOff] == 0x47, b[nameOff + 1] == 0x4e,
               b[nameOff + 2] == 0x55, b[nameOff + 3] == 0, descsz > 0, descsz <= 64 {
                return Array(b[descOff..<(descOff + Int(descsz))])
            }
            guard next > o else { return nil }
            o = next
        }
        return nil
    }

    /// Appends the FUNC (and IFUNC), sized, and exported zero-size code symbols of .symtab and
    /// .dynsym to `builder`.
    func appendSymbols(to builder: inout SymbolTableBuilder, includeDynsym: Bool = true) {
        for s in sections where s.type == ELFConst.shtSymtab || (includeDynsym && s.type == ELFConst.shtDynsym) {
            guard (s.flags & ELFConst.shfCompressed) == 0, s.size > 0, s.size <= UInt64(maxSingleRead) else { continue }
            let entsize = s.entsize == 0 ? 24 : Int(clamping: s.entsize)
            guard entsize >= 24, entsize <= 1024 else { continue }
            guard Int(s.link) < sections.count, Int(s.link) > 0 else { continue }
            let strSec = sections[Int(s.link)]
            guard strSec.type == ELFConst.shtStrtab, strSec.size <= UInt64(maxSingleRead),
                  let strtab = source.read(strSec.offset, Int(strSec.size)),
                  let symtab = source.read(s.offset, Int(s.size)) else { continue }
            let n = symtab.count / entsize
            if n <= 1 { continue }
            builder.reserve(n)
            symtab.withUnsafeBytes { raw in
                for i in 1..<n {
                    let b = i * entsize
                    let nameOff = raw.loadUnaligned(fromByteOffset: b, as: UInt32.self).littleEndian
                    let info = raw[b + 4]
                    let shndx = raw.loadUnaligned(fromByteOffset: b + 6, as: UInt16.self).littleEndian
                    let value = raw.loadUnaligned(fromByteOffset: b + 8, as: UInt64.self).littleEndian
                    let size = raw.loadUnaligned(fromByteOffset: b + 16, as: UInt64.self).littleEndian
                    let stype = info & 0xf
                    let bind = info >> 4
                    if shndx == ELFConst.shnUndef || value == 0 { continue }
                    var sectionEnd: UInt64 = 0
                    var exec = false
                    if shndx < ELFConst.shnLoreserve, Int(shndx) < sections.count {
                        let sec = sections[Int(shndx)]
                        exec = (sec.flags & ELFConst.shfExecinstr) != 0
                        let (e, o) = sec.addr.addingReportingOverflow(sec.size)
                        sectionEnd = o ? UInt64.max : e
                    }
                    switch stype {
                    case ELFConst.sttFunc, ELFConst.sttGnuIfunc:
                        break
                    case ELFConst.sttNotype, ELFConst.sttObject:
                        // Sized symbols always; zero-size labels only when exported and in code.
                        if size == 0 && !(exec && bind != ELFConst.stbLocal) { continue }
                    default:
                        continue
                    }
                    let nameLen = strtab.cStringLength(at: Int(nameOff))
                    if nameLen == 0 { continue }
                    if ELFImage.isMappingSymbol(strtab, Int(nameOff), nameLen) { continue }
                    let rank = SymbolTableBuilder.rank(isFunc: stype == ELFConst.sttFunc || stype == ELFConst.sttGnuIfunc, bind: bind)
                    // Tagged code (1) or data (0): a code address never takes a data symbol's
                    // name (ProcessSymbols.compute), a futex address may (DataSymbols).
                    let isCode = stype == ELFConst.sttFunc || stype == ELFConst.sttGnuIfunc || exec
                    builder.add(start: value, size: size, sectionEnd: sectionEnd, rank: rank,
                                name: strtab, nameOffset: Int(nameOff), nameLength: nameLen, tag: isCode ? 1 : 0)
                }
            }
        }
    }

    /// ARM/AArch64/RISC-V mapping symbols ($x, $d, $a, $t, $x.123 …) and assembler locals (.L…).
    static func isMappingSymbol(_ s: [UInt8], _ o: Int, _ len: Int) -> Bool {
        let c0 = s[o]
        if c0 == UInt8(ascii: "."), len >= 2, s[o + 1] == UInt8(ascii: "L") { return true }
        guard c0 == UInt8(ascii: "$"), len >= 2 else { return false }
        let c1 = s[o + 1]
        guard c1 == UInt8(ascii: "x") || c1 == UInt8(ascii: "d") || c1 == UInt8(ascii: "a") || c1 == UInt8(ascii: "t") else { return false }
        return len == 2 || s[o + 2] == UInt8(ascii: ".")
    }
}

extension [LoadSegment] {
    /// ELF virtual address of a file offset, through the PT_LOAD headers.
    func vaddr(forFileOffset off: UInt64) -> UInt64? {
        for l in self where off >= l.offset && off - l.offset < l.filesz {
            return l.vaddr &+ (off - l.offset)
        }
        // The page-aligned head of a segment (mapped but before p_offset), or past filesz (bss-ish).
        for l in self {
            let alignedStart = l.offset & ~UInt64(0xfff)
            if off >= alignedStart, off < l.offset &+ Swift.max(l.memsz, l.filesz) {
                return l.vaddr &+ off &- l.offset
            }
        }
        return nil
    }
}
