import Foundation
import Glibc
import Testing
@testable import SwoffcpuSymbolizer

private func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The compact unwind tables the kernel-side unwinder searches (UnwindTable.swift,
/// bpf/unwind.bpf.h): checked row by row against the CFI interpreter, on this machine's libc.
@Suite("Unwind tables")
struct UnwindTableTests {
    static let libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"

    static func info(_ path: String) throws -> EhFrameUnwindInfo {
        let source = try FileByteSource(path: path)
        let image = try ELFImage(source: source, path: path)
        return try #require(EhFrameUnwindInfo(sections: image.sections, source: source))
    }

    /// Row encoding round trip, and the rules a row cannot represent.
    @Test func encoding() {
        let w = UnwindTable.pack(pc: 0x1234, kind: .rbp, cfaOffset: 16, rbpOffset: -2)
        let u = UnwindTable.unpack(w)
        #expect(u.pc == 0x1234 && u.kind == .rbp && u.cfaOffset == 16 && u.rbpOffset == -2)
        var row = UnwindRow()
        row.cfa = .registerOffset(register: X86Reg.rsp, offset: 8)
        row[X86Reg.ra] = .offset(-8)
        #expect(UnwindTable.unpack(UnwindTable.encode(row)).kind == .rsp)
        row[X86Reg.ra] = .undefined
        #expect(UnwindTable.unpack(UnwindTable.encode(row)).kind == .end, "RA undefined: the outermost frame")
        row[X86Reg.ra] = .offset(-8)
        row.cfa = .registerOffset(register: 10, offset: 0) // r10-based (stack realignment)
        #expect(UnwindTable.unpack(UnwindTable.encode(row)).kind == .unsupported)
        row.cfa = .expression
        #expect(UnwindTable.unpack(UnwindTable.encode(row)).kind == .unsupported)
        row.cfa = .registerOffset(register: X86Reg.rbp, offset: 16)
        row[X86Reg.rbp] = .expression
        #expect(UnwindTable.unpack(UnwindTable.encode(row)).kind == .unsupported, "rbp by expression")
    }

    /// libc's table: rows strictly ascending, and at 20,000 pcs spread over its FDEs the row
    /// the kernel would find is the row the CFI interpreter computes for that pc.
    @Test func libcTableMatchesTheInterpreter() throws {
        let info = try Self.info(Self.libc)
        let t0 = monotonicNs()
        let table = UnwindTable(info)
        let ns = monotonicNs() - t0
        print("[unwind-table] libc: \(table.fdes) FDEs, \(table.rows.count) rows (\(table.rows.count * 8 / 1024) KiB), "
              + "\(table.unsupportedRows) unsupported, frame pointers \(table.framePointers), built in \(ns / 1_000_000) ms")
        #expect(table.rows.count > 1000)
        #expect(!table.framePointers, "Debian's libc keeps no frame pointers")
        for i in 1..<table.rows.count {
            #expect(UInt32(truncatingIfNeeded: table.rows[i - 1]) < UInt32(truncatingIfNeeded: table.rows[i]))
            if UInt32(truncatingIfNeeded: table.rows[i - 1]) >= UInt32(truncatingIfNeeded: table.rows[i]) { break }
        }
        let index = info.section.buildIndex()
        var rng = SystemRandomNumberGenerator()
        var checked = 0, mismatches = 0
        for _ in 0..<20_000 {
            let e = index[Int.random(in: 0..<index.count, using: &rng)]
            let pc = UInt64.random(in: e.start..<e.end, using: &rng)
            guard let fde = info.fde(for: pc), case .success(let row)? = info.row(for: pc) else { continue }
            _ = fde
            let want = UnwindTable.unpack(UnwindTable.encode(row))
            guard let got = table.row(at: pc) else {
                mismatches += 1
                continue
            }
            checked += 1
            if got.kind != want.kind || got.cfaOffset != want.cfaOffset || got.rbpOffset != want.rbpOffset {
                mismatches += 1
                if mismatches < 5 { print("[unwind-table] pc 0x\(String(pc, radix: 16)): table \(got), interpreter \(want)") }
            }
        }
        print("[unwind-table] libc: \(checked) pcs checked, \(mismatches) mismatches")
        #expect(checked > 10_000)
        #expect(mismatches == 0)
    }

    /// The bias of a mapping comes from its executable segment, also when the page-aligned
    /// mapping starts in the file range of the segment before, with another vaddr − offset (lld).
    @Test func biasFromTheExecutableSegment() throws {
        let loads = [LoadSegment(offset: 0, vaddr: 0, filesz: 0x18490, memsz: 0x18490, flags: 4, align: 0x1000),
                     LoadSegment(offset: 0x18490, vaddr: 0x19490, filesz: 0x49593, memsz: 0x49593, flags: 5, align: 0x1000)]
        let e = try #require(ProcMaps.parseLine(ArraySlice("55d000019000-55d000063000 r-xp 00018000 08:01 1234 /x/deeprust".utf8)))
        let bias = try #require(UnwindTableSet.bias(of: e, loads: loads))
        // .text's first byte: file 0x18490 is at 0x55d000019000 + 0x490.
        #expect(0x55d0_0001_9490 - bias == 0x19490)
    }

    /// Sizes and build times of large tables (docs/unwinding.md): the Swift compiler's
    /// swift-frontend (~200 MB) where installed. Figures only: no time limit is asserted.
    @Test func largeBinaryFigures() throws {
        let candidates = ["/opt/swift/usr/bin/swift-frontend", "/usr/bin/swift-frontend"]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            print("[unwind-table] no swift-frontend here: figure not taken")
            return
        }
        let t0 = monotonicNs()
        let info = try Self.info(path)
        let t1 = monotonicNs()
        let table = UnwindTable(info)
        let t2 = monotonicNs()
        print("[unwind-table] \(path): .eh_frame \(info.section.bytes.count / 1024) KiB, \(table.fdes) FDEs, "
              + "\(table.rows.count) rows (\(table.rows.count * 8 / 1024) KiB), \(table.unsupportedRows) unsupported, "
              + "frame pointers \(table.framePointers); read \((t1 - t0) / 1_000_000) ms, built \((t2 - t1) / 1_000_000) ms")
        #expect(table.rows.count > 100_000)
    }
}
