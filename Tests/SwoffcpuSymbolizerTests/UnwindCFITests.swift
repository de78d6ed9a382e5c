import Foundation
import Glibc
import Testing
@testable import SwoffcpuSymbolizer

/// Builds `.eh_frame` bytes by hand: CIEs and FDEs with pc-relative sdata4 pointers.
struct CFIBuilder {
    var bytes: [UInt8] = []
    /// ELF virtual address of the section.
    var vaddr: UInt64 = 0x10000

    static func uleb(_ v: UInt64) -> [UInt8] {
        var v = v
        var out: [UInt8] = []
        repeat {
            var b = UInt8(v & 0x7f)
            v >>= 7
            if v != 0 { b |= 0x80 }
            out.append(b)
        } while v != 0
        return out
    }

    static func sleb(_ v: Int64) -> [UInt8] {
        var v = v
        var out: [UInt8] = []
        while true {
            let b = UInt8(v & 0x7f)
            v >>= 7
            if (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0) {
                out.append(b)
                return out
            }
            out.append(b | 0x80)
        }
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }

    /// Appends a CIE (code align 1, data align -8, RA column 16); returns its offset.
    @discardableResult
    mutating func cie(augmentation: String = "zR", augmentationData: [UInt8] = [0x1b], instructions: [UInt8]) -> Int {
        let off = bytes.count
        var body: [UInt8] = CFIBuilder.le32(0) + [1] + Array(augmentation.utf8) + [0]
        body += CFIBuilder.uleb(1) + CFIBuilder.sleb(-8) + [16]
        if augmentation.hasPrefix("z") { body += CFIBuilder.uleb(UInt64(augmentationData.count)) + augmentationData }
        body += instructions
        while (body.count + 4) % 8 != 0 { body.append(0) }  // DW_CFA_nop padding
        bytes += CFIBuilder.le32(UInt32(body.count)) + body
        return off
    }

    /// Appends an FDE for [pcBegin, pcBegin + range) (pc-relative sdata4); returns its offset.
    @discardableResult
    mutating func fde(cie: Int, pcBegin: UInt64, range: UInt32, augmentationData: [UInt8]? = [], instructions: [UInt8]) -> Int {
        let off = bytes.count
        let idField = off + 4
        var body: [UInt8] = CFIBuilder.le32(UInt32(idField - cie))
        let pcField = vaddr + UInt64(off + 8)
        body += CFIBuilder.le32(UInt32(truncatingIfNeeded: Int64(bitPattern: pcBegin &- pcField)))
        body += CFIBuilder.le32(range)
        if let augmentationData { body += CFIBuilder.uleb(UInt64(augmentationData.count)) + augmentationData }
        body += instructions
        while (body.count + 4) % 8 != 0 { body.append(0) }
        bytes += CFIBuilder.le32(UInt32(body.count)) + body
        return off
    }

    mutating func terminator() { bytes += [0, 0, 0, 0] }

    var section: EhFrameSection { EhFrameSection(bytes: bytes, vaddr: vaddr) }

    /// A `.eh_frame_hdr` (datarel sdata4 table) for the FDEs at `fdes`, placed at `hdrVaddr`.
    func header(at hdrVaddr: UInt64, fdes: [(pc: UInt64, offset: Int)]) -> [UInt8] {
        var h: [UInt8] = [1, 0x1b, 0x03, 0x3b]
        h += CFIBuilder.le32(UInt32(truncatingIfNeeded: Int64(bitPattern: vaddr &- (hdrVaddr + 4))))
        h += CFIBuilder.le32(UInt32(fdes.count))
        for f in fdes.sorted(by: { $0.pc < $1.pc }) {
            h += CFIBuilder.le32(UInt32(truncatingIfNeeded: Int64(bitPattern: f.pc &- hdrVaddr)))
            h += CFIBuilder.le32(UInt32(truncatingIfNeeded: Int64(bitPattern: vaddr + UInt64(f.offset) &- hdrVaddr)))
        }
        return h
    }
}

/// x86-64 CIE initial instructions: CFA = rsp+8, RA at CFA-8.
let standardCIE: [UInt8] = [0x0c, 0x07, 0x08, 0x90, 0x01]
/// A frame-pointer prologue: push rbp (1 byte), mov rsp,rbp (3 bytes); leave+ret at +0x20.
let framePointerFDE: [UInt8] = [
    0x41, 0x0e, 0x10,  // advance 1; def_cfa_offset 16
    0x86, 0x02,  // rbp at CFA-16
    0x43, 0x0d, 0x06,  // advance 3; def_cfa_register rbp
    0x5c, 0x0c, 0x07, 0x08,  // advance 0x1c (to +0x20); def_cfa rsp+8
    0xc6,  // restore rbp
]

@Suite struct UnwindCFITests {
    /// Checks that a "zR" CIE and its FDE parse: alignments, RA column, encoding, pc range.
    @Test func parsesCIEAndFDE() throws {
        var b = CFIBuilder()
        let c = b.cie(instructions: standardCIE)
        let f = b.fde(cie: c, pcBegin: 0x401000, range: 0x40, instructions: framePointerFDE)
        b.terminator()
        let s = b.section
        let cie = try s.cie(at: c)
        #expect(cie.augmentation == "zR" && cie.codeAlignment == 1 && cie.dataAlignment == -8)
        #expect(cie.returnAddressRegister == 16 && cie.fdeEncoding == 0x1b && cie.hasAugmentationData)
        let fde = try s.fde(at: f)
        #expect(fde.pcBegin == 0x401000 && fde.pcRange == 0x40 && fde.cie == cie)
        #expect(fde.contains(0x401000) && fde.contains(0x40103f) && !fde.contains(0x401040))
        guard case .fde = try s.entry(at: f) else { Issue.record("not an FDE"); return }
        #expect(try s.entry(at: b.bytes.count - 4) == .terminator)
    }

    /// Checks the rows of a frame-pointer prologue/epilogue at each location.
    @Test func rowsOfFramePointerFunction() throws {
        var b = CFIBuilder()
        let c = b.cie(instructions: standardCIE)
        let f = b.fde(cie: c, pcBegin: 0x401000, range: 0x40, instructions: framePointerFDE)
        let s = b.section
        let fde = try s.fde(at: f)
        func row(_ pc: UInt64) throws -> UnwindRow { try CFAProgram.row(for: fde, in: s, at: pc).get() }
        #expect(try row(0x401000).cfa == .registerOffset(register: 7, offset: 8))
        #expect(try row(0x401000)[16] == .offset(-8) && row(0x401000)[6] == .unspecified)
        #expect(try row(0x401001).cfa == .registerOffset(register: 7, offset: 16))
        #expect(try row(0x401003)[6] == .offset(-16))
        #expect(try row(0x401004).cfa == .registerOffset(register: 6, offset: 16))
        #expect(try row(0x40101f).cfa == .registerOffset(register: 6, offset: 16))
        #expect(try row(0x401020).cfa == .registerOffset(register: 7, offset: 8))
        #expect(try row(0x401020)[6] == .unspecified)
    }

    /// Checks that the FDE of a pc is found through `.eh_frame_hdr`, and without it through the
    /// built index, and that pcs outside every FDE find none.
    @Test func findsFDEWithAndWithoutHeader() throws {
        var b = CFIBuilder()
        let c = b.cie(instructions: standardCIE)
        let f1 = b.fde(cie: c, pcBegin: 0x402000, range: 0x10, instructions: [0x41, 0x0e, 0x10])
        let f2 = b.fde(cie: c, pcBegin: 0x401000, range: 0x40, instructions: framePointerFDE)
        let f3 = b.fde(cie: c, pcBegin: 0x403000, range: 0x100, instructions: [])
        b.terminator()
        let hdrVaddr: UInt64 = 0x20000
        let hdr = b.header(at: hdrVaddr, fdes: [(0x402000, f1), (0x401000, f2), (0x403000, f3)])
        let withHeader = EhFrameUnwindInfo(ehFrame: b.bytes, ehFrameVaddr: b.vaddr, header: hdr, headerVaddr: hdrVaddr)
        let without = EhFrameUnwindInfo(ehFrame: b.bytes, ehFrameVaddr: b.vaddr)
        #expect(withHeader.header?.count == 3)
        #expect(without.header == nil)
        for info in [withHeader, without] {
            #expect(info.fde(for: 0x401000)?.offset == f2)
            #expect(info.fde(for: 0x40103f)?.offset == f2)
            #expect(info.fde(for: 0x401040) == nil)
            #expect(info.fde(for: 0x402008)?.offset == f1)
            #expect(info.fde(for: 0x4030ff)?.offset == f3)
            #expect(info.fde(for: 0x400000) == nil)
            #expect(info.fde(for: 0x500000) == nil)
            let r = try #require(info.row(for: 0x401010)).get()
            #expect(r.cfa == .registerOffset(register: 6, offset: 16))
        }
        // A header that names another .eh_frame is ignored.
        let elsewhere = EhFrameUnwindInfo(ehFrame: b.bytes, ehFrameVaddr: b.vaddr + 0x1000, header: hdr, headerVaddr: hdrVaddr)
        #expect(elsewhere.header == nil)
    }

    /// Checks a "zPLR" CIE (personality through an indirect pointer, LSDA) and an FDE with an
    /// LSDA pointer in its augmentation data.
    @Test func personalityAndLSDA() throws {
        var b = CFIBuilder()
        // P: indirect|pcrel|sdata4 + 4 bytes; L: pcrel|sdata4; R: pcrel|sdata4.
        let c = b.cie(augmentation: "zPLR", augmentationData: [0x9b, 0x10, 0x20, 0x30, 0x40, 0x1b, 0x1b],
                      instructions: standardCIE)
        let f = b.fde(cie: c, pcBegin: 0x405000, range: 0x80, augmentationData: [0x00, 0x01, 0x00, 0x00],
                      instructions: [0x44, 0x0e, 0x20, 0x83, 0x03])
        let s = b.section
        let cie = try s.cie(at: c)
        #expect(cie.augmentation == "zPLR" && cie.lsdaEncoding == 0x1b && cie.fdeEncoding == 0x1b)
        let fde = try s.fde(at: f)
        #expect(fde.pcBegin == 0x405000 && fde.pcRange == 0x80)
        let r = try CFAProgram.row(for: fde, in: s, at: 0x405010).get()
        #expect(r.cfa == .registerOffset(register: 7, offset: 32) && r[3] == .offset(-24))
    }

    /// Checks the less common instructions: advance_loc1/2/4, remember/restore_state,
    /// offset_extended(_sf), same_value, undefined, register, val_offset, GNU_args_size, nop,
    /// def_cfa_sf, and that expressions are reported as such.
    @Test func lessCommonInstructions() throws {
        let prog: [UInt8] = [
            0x00,  // nop
            0x02, 0x04, 0x0e, 0x10,  // advance_loc1 4; def_cfa_offset 16
            0x0a,  // remember_state
            0x05, 0x06, 0x02,  // offset_extended rbp, 2*-8
            0x2e, 0x08,  // GNU_args_size 8
            0x03, 0x10, 0x00, 0x0e, 0x30,  // advance_loc2 0x10 (to +0x14); def_cfa_offset 48
            0x41, 0x0b,  // advance 1; restore_state
            0x04, 0x0f, 0x00, 0x00, 0x00,  // advance_loc4 0xf (to +0x24)
            0x11, 0x03, 0x7d,  // offset_extended_sf rbx, -3*-8 = +24
            0x08, 0x06,  // same_value rbp
            0x07, 0x0c,  // undefined r12
            0x09, 0x0d, 0x00,  // register r13 in rax
            0x14, 0x0e, 0x01,  // val_offset r14, 1*-8
            0x12, 0x06, 0x7e,  // def_cfa_sf rbp, -2*-8 = 16
            0x44,  // advance 4 (to +0x28)
            0x0f, 0x02, 0x77, 0x08,  // def_cfa_expression (2 bytes)
            0x10, 0x06, 0x01, 0x96,  // expression rbp (1 byte)
        ]
        var b = CFIBuilder()
        let c = b.cie(instructions: standardCIE)
        let f = b.fde(cie: c, pcBegin: 0x1000, range: 0x100, instructions: prog)
        let s = b.section
        let fde = try s.fde(at: f)
        func row(_ pc: UInt64) throws -> UnwindRow { try CFAProgram.row(for: fde, in: s, at: pc).get() }
        #expect(try row(0x1003).cfa == .registerOffset(register: 7, offset: 8))
        let r4 = try row(0x1004)
        #expect(r4.cfa == .registerOffset(register: 7, offset: 16) && r4[6] == .offset(-16))
        let r14 = try row(0x1014)
        #expect(r14.cfa == .registerOffset(register: 7, offset: 48) && r14[6] == .offset(-16))
        let r15 = try row(0x1015)
        #expect(r15.cfa == .registerOffset(register: 7, offset: 16) && r15[6] == .unspecified)
        let r24 = try row(0x1024)
        #expect(r24.cfa == .registerOffset(register: 6, offset: 16))
        #expect(r24[6] == .sameValue && r24[3] == .offset(24) && r24[12] == .undefined)
        #expect(r24[13] == .register(0) && r24[14] == .valOffset(-8))
        let r28 = try row(0x1028)
        #expect(r28.cfa == .expression && r28[6] == .expression)
    }

    /// Checks that the lazy-binding PLT's CFA expression is recognized (and evaluated by the
    /// unwinder: rsp+8 before the entry's push, rsp+16 after it), and other expressions are not.
    @Test func pltExpression() throws {
        let plt: [UInt8] = [0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22]
        #expect(CFARule.parse(expression: plt[...]) == .pltExpression(offset: 8, threshold: 11))
        #expect(CFARule.parse(expression: plt.dropLast()) == .expression)
        #expect(CFARule.parse(expression: [0x77, 0x08][...]) == .expression)
        #expect(CFARule.parse(expression: [][...]) == .expression)
        var b = CFIBuilder()
        let c = b.cie(instructions: [0x0c, 0x07, 0x10, 0x90, 0x01])  // .plt's CIE: CFA rsp+16
        let f = b.fde(cie: c, pcBegin: 0x1020, range: 0x40,
                      instructions: [0x46, 0x0e, 0x18, 0x4a, 0x0f, UInt8(plt.count)] + plt)
        let fde = try b.section.fde(at: f)
        let r = try CFAProgram.row(for: fde, in: b.section, at: 0x1038).get()
        #expect(r.cfa == .pltExpression(offset: 8, threshold: 11))
        let sp = UnwindLeafTests.sp
        for (ip, expected) in [(UInt64(0x1030), UInt64(0xB010)), (0x103b, 0xC020)] {
            let u = LeafUnwinder(ip: ip, sp: sp, bp: 0, stack: stackBytes([0xB010, 0xC020]), fpReturn: nil, maxFrames: 1)
            let got = u.unwind { _ in .row(r) }.result
            #expect(got.frames == [expected])
        }
    }

    /// Checks that malformed CFI gives errors, not traps: truncated entries, lengths past the
    /// end, a CIE pointer out of range, unknown opcodes, restore_state without remember_state,
    /// too deep remember_state, bad versions and augmentations.
    @Test func malformedCFI() throws {
        var b = CFIBuilder()
        let c = b.cie(instructions: standardCIE)
        let f = b.fde(cie: c, pcBegin: 0x1000, range: 0x10, instructions: [0x41])
        let good = b.bytes
        // Truncated at every length.
        for n in 0..<good.count {
            let s = EhFrameSection(bytes: Array(good[0..<n]), vaddr: 0x10000)
            _ = try? s.entry(at: 0)
            _ = try? s.fde(at: f)
            _ = s.buildIndex()
        }
        // Length past the end.
        var long = good
        long[f] = 0xff
        long[f + 1] = 0xff
        #expect(throws: EhFrameError.self) { try EhFrameSection(bytes: long, vaddr: 0).fde(at: f) }
        // 64-bit length that does not fit.
        var long64 = good
        long64.replaceSubrange(f..<(f + 4), with: [0xff, 0xff, 0xff, 0xff])
        long64.insert(contentsOf: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], at: f + 4)
        #expect(throws: EhFrameError.self) { try EhFrameSection(bytes: long64, vaddr: 0).fde(at: f) }
        // CIE pointer before the section start.
        var badPointer = good
        badPointer.replaceSubrange((f + 4)..<(f + 8), with: CFIBuilder.le32(0x7fff_ffff))
        #expect(throws: EhFrameError.self) { try EhFrameSection(bytes: badPointer, vaddr: 0).fde(at: f) }
        // The CIE pointer points at an FDE.
        var toFDE = good
        toFDE.replaceSubrange((f + 4)..<(f + 8), with: CFIBuilder.le32(4))
        #expect(throws: EhFrameError.self) { try EhFrameSection(bytes: toFDE, vaddr: 0).fde(at: f) }
        // Bad version, unknown augmentation without 'z'.
        var v2 = CFIBuilder()
        v2.bytes = good
        v2.bytes[c + 8] = 2
        #expect(throws: EhFrameError.self) { try v2.section.cie(at: c) }
        var aug = CFIBuilder()
        let ac = aug.cie(augmentation: "xy", instructions: standardCIE)
        #expect(throws: EhFrameError.self) { try aug.section.cie(at: ac) }

        func runs(_ prog: [UInt8]) -> Result<UnwindRow, CFIError> {
            var b = CFIBuilder()
            let c = b.cie(instructions: standardCIE)
            let f = b.fde(cie: c, pcBegin: 0x1000, range: 0x100, instructions: prog)
            guard let fde = try? b.section.fde(at: f) else { return .failure(.truncated(offset: -1)) }
            return CFAProgram.row(for: fde, in: b.section, at: 0x10ff)
        }
        // The builder pads with nops, so truncated operands are run directly.
        let cie = try b.section.cie(at: c)
        func direct(_ prog: [UInt8]) -> Result<UnwindRow, CFIError> {
            CFAProgram.row(cie: cie, cieInstructions: cie.instructions, fdeInstructions: good.count..<(good.count + prog.count),
                           bytes: good + prog, pcBegin: 0x1000, target: 0x10ff)
        }
        #expect(direct([0x0c, 0x07]) == .failure(.truncated(offset: good.count)))
        #expect(direct([0x05, 0x86]) == .failure(.truncated(offset: good.count)))
        #expect(direct([0x0f, 0x10, 0x00]) == .failure(.truncated(offset: good.count)))
        #expect(direct([0x2d]) == .failure(.unknownOpcode(0x2d, offset: good.count)))
        #expect(runs([0x0b]) == .failure(.restoreStateWithoutRemember))
        #expect(runs(Array(repeating: 0x0a, count: 65)) == .failure(.stateStackOverflow))
        if case .failure(.unknownOpcode(0x3f, _)) = runs([0x3f]) {} else { Issue.record("0x3f accepted") }
        // Instruction ranges outside the bytes.
        #expect(CFAProgram.row(cie: cie, cieInstructions: 0..<10_000, fdeInstructions: 0..<0, bytes: good,
                               pcBegin: 0, target: 0) == .failure(.truncated(offset: 0)))
        // Over-long LEB128.
        #expect(direct([0x0e] + Array(repeating: 0x80, count: 12) + [0x01]) == .failure(.truncated(offset: good.count)))
    }

    /// Checks that `.eh_frame_hdr` tables with unusable encodings are rejected.
    @Test func malformedHeader() {
        #expect(EhFrameHeader(bytes: [], vaddr: 0) == nil)
        #expect(EhFrameHeader(bytes: [2, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 0, 0, 0, 0], vaddr: 0) == nil)  // version
        #expect(EhFrameHeader(bytes: [1, 0x1b, 0x03, 0x31, 0, 0, 0, 0, 0, 0, 0, 0], vaddr: 0) == nil)  // uleb table
        #expect(EhFrameHeader(bytes: [1, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 5, 0, 0, 0], vaddr: 0) == nil)  // count too big
        #expect(EhFrameHeader(bytes: [1, 0x1b, 0xff, 0xff, 0, 0, 0, 0], vaddr: 0) == nil)  // no table
        let empty = EhFrameHeader(bytes: [1, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 0, 0, 0, 0], vaddr: 0)
        #expect(empty?.count == 0 && empty?.fdeAddress(for: 0x1000) == nil)
    }

    /// Checks that random mutations of a valid `.eh_frame` and header never crash parsing,
    /// indexing, lookups or the CFA program (a small in-test fuzzer, fixed seed).
    @Test func fuzzedCFI() {
        var b = CFIBuilder()
        let c = b.cie(augmentation: "zPLR", augmentationData: [0x9b, 0x10, 0x20, 0x30, 0x40, 0x1b, 0x1b], instructions: standardCIE)
        let c2 = b.cie(instructions: standardCIE)
        var fdes: [(pc: UInt64, offset: Int)] = []
        fdes.append((0x401000, b.fde(cie: c2, pcBegin: 0x401000, range: 0x40, instructions: framePointerFDE)))
        fdes.append((0x402000, b.fde(cie: c, pcBegin: 0x402000, range: 0x40, augmentationData: [0, 0, 0, 0],
                                     instructions: [0x02, 0x04, 0x0a, 0x0e, 0x30, 0x0b, 0x12, 0x06, 0x7e])))
        b.terminator()
        let hdr = b.header(at: 0x20000, fdes: fdes)
        var rng = SplitMix64(seed: 0x5eed_cf1)
        for round in 0..<3000 {
            var e = b.bytes
            var h = hdr
            let edits = 1 + Int(rng.next() % 6)
            for _ in 0..<edits {
                if rng.next() % 4 == 0 {
                    h[Int(rng.next() % UInt64(h.count))] = UInt8(truncatingIfNeeded: rng.next())
                } else {
                    e[Int(rng.next() % UInt64(e.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            if round % 7 == 0 { e = Array(e.prefix(Int(rng.next() % UInt64(e.count)))) }
            let info = EhFrameUnwindInfo(ehFrame: e, ehFrameVaddr: b.vaddr,
                                         header: round % 3 == 0 ? nil : h, headerVaddr: 0x20000)
            for pc: UInt64 in [0x401000, 0x401005, 0x401021, 0x402010, 0x40203f, 0x10000, 0] {
                _ = info.row(for: pc)
            }
            let s = EhFrameSection(bytes: e, vaddr: b.vaddr)
            var off = 0
            var n = 0
            while n < 64, off < e.count, let next = s.nextEntryOffset(after: off), next > off {
                _ = try? s.entry(at: off)
                off = next
                n += 1
            }
        }
        // Pure random bytes too.
        for _ in 0..<500 {
            let n = Int(rng.next() % 200)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let info = EhFrameUnwindInfo(ehFrame: bytes, ehFrameVaddr: 0x1000, header: bytes, headerVaddr: 0x1000)
            _ = info.row(for: UInt64(rng.next() % 0x2000))
            _ = EhFrameUnwindInfo(ehFrame: bytes, ehFrameVaddr: 0).fde(for: 0x10)
        }
    }

    /// Checks every row of libc's `.eh_frame` against `readelf --debug-dump=frames-interp`
    /// (CFA, and the rules of the registers readelf shows), and that lookups through
    /// `.eh_frame_hdr` and through the built index agree.
    @Test func libcMatchesReadelf() throws {
        let libc = "/lib/x86_64-linux-gnu/libc.so.6"
        guard access(libc, R_OK) == 0, tool("readelf") != nil else { return }
        let src = try FileByteSource(path: libc)
        let image = try ELFImage(source: src, path: libc)
        let info = try #require(EhFrameUnwindInfo(sections: image.sections, source: src))
        #expect(info.header != nil)
        let noHeader = EhFrameUnwindInfo(ehFrame: info.section.bytes, ehFrameVaddr: info.section.vaddr)

        let names = ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
                     "r13", "r14", "r15", "ra"]
        func show(_ r: RegisterRule) -> String {
            switch r {
            case .unspecified, .undefined: return "u"
            case .sameValue: return "s"
            case .offset(let o): return o < 0 ? "c\(o)" : "c+\(o)"
            case .valOffset(let o): return o < 0 ? "v\(o)" : "v+\(o)"
            case .register(let n): return n < 17 ? names[Int(n)] : "r\(n)"
            case .expression: return "exp"
            case .valExpression: return "vexp"
            }
        }
        func show(_ c: CFARule) -> String {
            switch c {
            case .undefined: return "u"
            case .expression, .pltExpression: return "exp"
            case .registerOffset(let r, let o): return (r < 17 ? names[Int(r)] : "r\(r)") + (o < 0 ? "\(o)" : "+\(o)")
            }
        }
        // readelf exits 1 on this file (with no message) after printing everything.
        let text = try run(["sh", "-c", "readelf --debug-dump=frames-interp \"$0\" || true", libc])
        var columns: [String] = []
        var fde: FDE? = nil
        var rows = 0, fdes = 0, mismatches: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 4, parts[3] == "FDE", let off = Int(parts[0], radix: 16) {
                fde = try? info.section.fde(at: off)
                #expect(fde != nil, "FDE at \(parts[0])")
                if let f = fde {
                    fdes += 1
                    #expect(info.fde(for: f.pcBegin)?.offset == off || f.pcRange == 0)
                    if fdes % 16 == 0 { #expect(noHeader.fde(for: f.pcBegin)?.pcBegin == f.pcBegin) }
                }
                columns = []
                continue
            }
            if parts.count >= 4, parts[3] == "CIE" { fde = nil; continue }
            if parts.first == "LOC" { columns = parts.dropFirst(2).map(String.init); continue }
            guard let f = fde, parts.count == columns.count + 2, let loc = UInt64(parts[0], radix: 16) else { continue }
            rows += 1
            guard let row = try? CFAProgram.row(for: f, in: info.section, at: loc).get() else {
                mismatches.append("\(parts[0]): no row")
                continue
            }
            var got = [show(row.cfa)]
            var want = [String(parts[1])]
            for (i, col) in columns.enumerated() {
                guard let reg = names.firstIndex(of: col) else { continue }
                got.append(show(row[UInt64(reg)]))
                want.append(String(parts[i + 2]))
            }
            if got != want { mismatches.append("\(parts[0]): \(got) != \(want)") }
        }
        #expect(fdes > 1000 && rows > 5000)
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    }
}
