import Foundation
import Glibc
import Testing
@testable import SwoffcpuSymbolizer

/// The contention fixture and the ptrace register helper, built once per run into their own dir.
let sharedUnwindFixtures: Result<(program: String, regs: String), FixtureErrorBox> = Result {
    let dir = NSTemporaryDirectory() + "swoffcpu-unwind-fixtures-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    atexit {
        try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "swoffcpu-unwind-fixtures-\(getpid())")
    }
    for name in ["unwind_contention", "unwind_regs"] {
        try FileManager.default.copyItem(atPath: "\(fixturesSourceDir)/\(name).c.txt", toPath: "\(dir)/\(name).c")
    }
    let program = "\(dir)/unwind-contention"
    try run(["gcc", "-O0", "-g", "-fno-omit-frame-pointer", "-pthread", "\(dir)/unwind_contention.c", "-o", program])
    let regs = "\(dir)/unwind-regs"
    try run(["gcc", "-O1", "\(dir)/unwind_regs.c", "-o", regs])
    return (program, regs)
}.mapError { FixtureErrorBox(String(describing: $0)) }

/// x86-64 futex(2).
let futexSyscall = 202

/// `/proc/PID/task/TID/syscall`: the syscall number, sp and pc ("running" gives nil).
func blockedSyscall(pid: Int32, tid: UInt64) -> (nr: Int, sp: UInt64, pc: UInt64)? {
    guard let b = try? readWholeFile("/proc/\(pid)/task/\(tid)/syscall") else { return nil }
    let f = String(decoding: b, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
    guard f.count == 9, let nr = Int(f[0]), let sp = UInt64(f[7].dropFirst(2), radix: 16),
          let pc = UInt64(f[8].dropFirst(2), radix: 16) else { return nil }
    return (nr, sp, pc)
}

/// The kernel's user frame-pointer walk (perf_callchain_user): ip, then [fp+8] up the chain.
func framePointerWalk(pid: Int32, ip: UInt64, bp: UInt64, max: Int = 127) -> [UInt64] {
    var out = [ip]
    var fp = bp
    while out.count < max, fp != 0, let w = readProcessMemory(pid: pid, address: fp, count: 16) {
        let next = w.u64(at: 0)!, ret = w.u64(at: 8)!
        out.append(ret)
        if next <= fp { break }  // the kernel would keep reading; a loop guard here
        fp = next
    }
    return out
}

/// Stack bytes for a synthetic leaf context: 8-byte words from `sp`.
func stackBytes(_ words: [UInt64]) -> [UInt8] {
    words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> ($0 * 8)) } }
}

func row(cfa: CFARule, _ rules: [UInt64: RegisterRule] = [:]) -> UnwindRow {
    var r = UnwindRow()
    r.cfa = cfa
    r[16] = .offset(-8)
    for (k, v) in rules { r[k] = v }
    return r
}

@Suite struct UnwindLeafTests {
    static let sp: UInt64 = 0x7ffd_0000_1000

    /// Checks the unwind of `futex ← __lll_lock_wait ← pthread_mutex_lock ← lock_inner ←
    /// lock_outer` on a synthetic stack: the two frames between the leaf and lock_inner's
    /// frame-pointer frame are recovered, and the unwind stops at lock_inner (rbp-based CFA
    /// with the captured rbp), whose return address is already fpFrames[1].
    @Test func recoversFramesBelowFramePointerChain() {
        let sp = Self.sp
        let bp = sp + 0x40  // lock_inner's frame base
        // sp+0: ret into pthread_mutex_lock; pml's frame: 0x30 bytes; sp+0x30: ret into lock_inner.
        var words = [UInt64](repeating: 0xdead, count: 12)
        words[0] = 0xB010
        words[6] = 0xC020
        words[8] = sp + 0x100  // [bp]: lock_outer's frame
        words[9] = 0xD030  // [bp+8]: ret into lock_outer = fpFrames[1]
        let u = LeafUnwinder(ip: 0xA005, sp: sp, bp: bp, stack: stackBytes(words), fpReturn: 0xD030)
        let (r, _, _) = u.unwind { pc in
            switch pc {
            case 0xA005: return .row(row(cfa: .registerOffset(register: 7, offset: 8)))
            case 0xB00F: return .row(row(cfa: .registerOffset(register: 7, offset: 0x30)))
            case 0xC01F: return .row(row(cfa: .registerOffset(register: 6, offset: 16), [6: .offset(-16)]))
            default: return .noCFI
            }
        }
        #expect(r.frames == [0xB010, 0xC020])
        #expect(r.stop == .reachedFramePointerChain && r.joinsFramePointerChain && r.scannedFrames == 0)
    }

    /// Checks that a leaf function that clobbers rbp after saving it is unwound through the
    /// saved value (the caller's real frame base), and that the unwind continues until the
    /// CFI runs out.
    @Test func restoresSavedRbp() {
        let sp = Self.sp
        var words = [UInt64](repeating: 0, count: 16)
        words[0] = 0xB010  // ret into f1 (f0: leaf, CFA rsp+8)
        // f1: CFA rsp+0x20 from sp+8 → CFA sp+0x28; rbp saved at CFA-16 = sp+0x18; RA at sp+0x20.
        words[3] = sp + 0x40  // saved rbp (f2's frame base)
        words[4] = 0xC020  // ret into f2
        // f2: CFA = rbp+16 = sp+0x50; RA at sp+0x48; its caller's rbp at sp+0x40.
        words[8] = sp + 0x70
        words[9] = 0xD030
        let u = LeafUnwinder(ip: 0xA005, sp: sp, bp: 0x1234, stack: stackBytes(words), fpReturn: nil)
        let (r, finalSP, finalBP) = u.unwind { pc in
            switch pc {
            case 0xA005: return .row(row(cfa: .registerOffset(register: 7, offset: 8)))
            case 0xB00F: return .row(row(cfa: .registerOffset(register: 7, offset: 0x20), [6: .offset(-16)]))
            case 0xC01F: return .row(row(cfa: .registerOffset(register: 6, offset: 16), [6: .offset(-16)]))
            default: return .noCFI
            }
        }
        #expect(r.frames == [0xB010, 0xC020, 0xD030])
        #expect(r.stop == .noCFI(pc: 0xD030) && !r.joinsFramePointerChain)
        #expect(finalSP == sp + 0x50 && finalBP == sp + 0x70)
    }

    /// Checks each way the unwind stops: the return address is fpFrames[1], a leaf whose own
    /// frame is the frame-pointer frame, an undefined return address column, a CFA in r10, a CFA
    /// that does not move up, a return address outside the captured bytes, a CFA equal to
    /// rbp+16 with an rsp rule, and the frame limit.
    @Test func stopConditions() {
        let sp = Self.sp
        let rsp8 = row(cfa: .registerOffset(register: 7, offset: 8))
        func unwind(_ words: [UInt64], bp: UInt64 = 0, fpReturn: UInt64? = nil, max: Int = 16,
                    _ lookup: (UInt64) -> LeafUnwinder.Lookup) -> LeafUnwindResult {
            LeafUnwinder(ip: 0xA005, sp: sp, bp: bp, stack: stackBytes(words), fpReturn: fpReturn, maxFrames: max)
                .unwind(lookup: lookup).result
        }
        let matched = unwind([0xB010, 0xC020], fpReturn: 0xC020) { _ in .row(rsp8) }
        #expect(matched.frames == [0xB010] && matched.stop == .matchedFramePointerReturn)

        let fpLeaf = unwind([0, 0, 0xB010], bp: sp + 8) { _ in .row(row(cfa: .registerOffset(register: 6, offset: 16))) }
        #expect(fpLeaf.frames.isEmpty && fpLeaf.stop == .reachedFramePointerChain)

        let outer = unwind([0xB010]) { pc in
            pc == 0xA005 ? .row(rsp8) : .row(row(cfa: .registerOffset(register: 7, offset: 8), [16: .undefined]))
        }
        #expect(outer.frames == [0xB010] && outer.stop == .outermostFrame)

        let zero = unwind([0]) { _ in .row(rsp8) }
        #expect(zero.frames.isEmpty && zero.stop == .outermostFrame)

        let r10 = unwind([0xB010]) { _ in .row(row(cfa: .registerOffset(register: 10, offset: 8))) }
        #expect(r10.stop == .unsupportedCFI(pc: 0xA005))
        let expr = unwind([0xB010]) { _ in .row(row(cfa: .expression)) }
        #expect(expr.stop == .unsupportedCFI(pc: 0xA005))
        let unsupported = unwind([0xB010]) { _ in .unsupported }
        #expect(unsupported.stop == .unsupportedCFI(pc: 0xA005))
        let unknownBP = unwind([0xB010, 0xC020], bp: 0x50) { pc in
            pc == 0xA005 ? .row(row(cfa: .registerOffset(register: 7, offset: 8), [6: .undefined]))
                : .row(row(cfa: .registerOffset(register: 6, offset: 16)))
        }
        #expect(unknownBP.frames == [0xB010] && unknownBP.stop == .unsupportedCFI(pc: 0xB010))

        let stuck = unwind([0xB010]) { _ in .row(row(cfa: .registerOffset(register: 7, offset: 0))) }
        #expect(stuck.stop == .badFrame(pc: 0xA005))

        let outside = unwind([0xB010]) { _ in .row(row(cfa: .registerOffset(register: 7, offset: 0x100))) }
        #expect(outside.stop == .outsideCapturedStack(address: sp + 0xf8))

        // rsp-based CFA that lands on rbp+16: this frame is the walk's first.
        let atRbp = unwind([0xB010, 0xC020, 0, 0xD030], bp: sp + 8) { pc in
            pc == 0xA005 ? .row(rsp8) : .row(row(cfa: .registerOffset(register: 7, offset: 16)))
        }
        #expect(atRbp.frames == [0xB010] && atRbp.stop == .reachedFramePointerChain)

        let many = unwind((0..<40).map { 0x1000 + $0 }, max: 16) { _ in .row(rsp8) }
        #expect(many.frames.count == 16 && many.stop == .frameLimit)

        let noCFI = unwind([0xB010]) { _ in .noCFI }
        #expect(noCFI.frames.isEmpty && noCFI.stop == .noCFI(pc: 0xA005))
    }

    /// Checks the opt-in stack scan: it takes only words the predicate accepts, stops at rbp
    /// (and then joins the walk), or at fpFrames[1].
    @Test func stackScan() {
        let sp = Self.sp
        let words: [UInt64] = [7, 0xB010, 0x42, 0xC020, 0xfeed, 0xD030, 0xE040]
        let valid: Set<UInt64> = [0xB010, 0xC020, 0xE040]
        let u = LeafUnwinder(ip: 0xA005, sp: sp, bp: sp + 0x28, stack: stackBytes(words), fpReturn: nil)
        let s = u.scan(from: sp, limit: 16) { valid.contains($0) }
        #expect(s.frames == [0xB010, 0xC020] && s.joined)
        let noBP = LeafUnwinder(ip: 0xA005, sp: sp, bp: 0, stack: stackBytes(words), fpReturn: 0xD030)
        let t = noBP.scan(from: sp + 8, limit: 16) { valid.contains($0) }
        #expect(t.frames == [0xB010, 0xC020] && t.joined)
        let limited = noBP.scan(from: sp, limit: 1) { valid.contains($0) }
        #expect(limited.frames == [0xB010])
        let open = LeafUnwinder(ip: 0xA005, sp: sp, bp: 0, stack: stackBytes(words), fpReturn: nil)
        let all = open.scan(from: sp, limit: 16) { valid.contains($0) }
        #expect(all.frames == [0xB010, 0xC020, 0xE040] && !all.joined)
    }

    /// Checks the call-instruction test of the stack scan on direct and indirect call encodings,
    /// and that jumps, pushes and too-short inputs are refused.
    @Test func callInstructionEncodings() {
        let pad: [UInt8] = [0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90]
        func ends(_ tail: [UInt8]) -> Bool { X86CallCheck.endsWithCall(Array((pad + tail).suffix(7))) }
        #expect(ends([0xe8, 1, 2, 3, 4]))  // call rel32
        #expect(ends([0xff, 0xd0]))  // call *%rax
        #expect(ends([0x41, 0xff, 0xd3]))  // call *%r11
        #expect(ends([0xff, 0x10]))  // call *(%rax)
        #expect(ends([0xff, 0x50, 0x10]))  // call *0x10(%rax)
        #expect(ends([0xff, 0x14, 0x24]))  // call *(%rsp)
        #expect(ends([0xff, 0x54, 0x24, 0x08]))  // call *0x8(%rsp)
        #expect(ends([0xff, 0x15, 1, 2, 3, 4]))  // call *disp32(%rip)
        #expect(ends([0xff, 0x93, 0, 1, 0, 0]))  // call *0x100(%rbx)
        #expect(ends([0xff, 0x94, 0xd8, 0, 1, 0, 0]))  // call *0x100(%rax,%rbx,8)
        #expect(!ends([0xff, 0xe0]))  // jmp *%rax
        #expect(!ends([0x48, 0x89, 0xe5]))  // mov %rsp,%rbp
        #expect(!ends([]))
        #expect(!X86CallCheck.endsWithCall([0xd0]))
        #expect(!X86CallCheck.endsWithCall([]))
    }

    /// Checks leaf recovery on a live process: a thread of the C fixture (frame pointers on)
    /// blocked in lock_outer → lock_inner → pthread_mutex_lock on a held mutex. Its registers
    /// come from /proc/PID/task/TID/syscall (sp, pc) and ptrace (rbp), its stack from
    /// /proc/PID/mem. The merged stack names, in order, glibc's lock wait, pthread_mutex_lock,
    /// lock_inner, lock_outer and worker.
    @Test func liveContendedMutex() throws {
        let fx = try sharedUnwindFixtures.get()
        let p = try LiveProcess(fx.program)
        defer { p.stop() }
        let tid = try p.value("waiter")
        var blocked: (nr: Int, sp: UInt64, pc: UInt64)? = nil
        for _ in 0..<1000 {
            if let s = blockedSyscall(pid: p.pid, tid: tid), s.nr == futexSyscall { blocked = s; break }
            usleep(5000)
        }
        let before = try #require(blocked, "the waiter never blocked in futex")
        let regs = try run([fx.regs, String(tid)])
        var values: [String: UInt64] = [:]
        for line in regs.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let v = UInt64(parts[1].dropFirst(2), radix: 16) { values[String(parts[0])] = v }
        }
        let bp = try #require(values["rbp"])
        #expect(values["rsp"] == before.sp)
        // Back in the (restarted) futex wait, on the same stack pointer.
        var after: (nr: Int, sp: UInt64, pc: UInt64)? = nil
        for _ in 0..<1000 {
            if let s = blockedSyscall(pid: p.pid, tid: tid), s.nr == futexSyscall { after = s; break }
            usleep(5000)
        }
        #expect(after?.sp == before.sp && after?.pc == before.pc)

        let stack = try #require(readProcessMemory(pid: p.pid, address: before.sp, count: 512)
            ?? readProcessMemory(pid: p.pid, address: before.sp, count: 128))
        let fp = framePointerWalk(pid: p.pid, ip: before.pc, bp: bp)
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        let libcModule = syms.mappings.first { $0.name == "libc.so.6" && $0.module != nil }?.module
        #expect(libcModule?.unwindInfo?.header != nil)

        let result = syms.unwindLeaf(ip: before.pc, sp: before.sp, bp: bp, stack: stack, fpFrames: fp)
        let merged = syms.mergedUserStack(ip: before.pc, sp: before.sp, bp: bp, stack: stack, fpFrames: fp)
        #expect(merged == [before.pc] + result.frames + fp.dropFirst())
        #expect(syms.recoverLeafFrames(ip: before.pc, sp: before.sp, bp: bp, stack: stack, fpFrames: fp) == result.frames)
        let names = syms.symbolize(merged).map(\.name)
        let fpNames = syms.symbolize(fp).map(\.name)
        let context = "merged \(names), frame pointers only \(fpNames), stop \(result.stop)"
        #expect(result.joinsFramePointerChain, "\(context)")
        #expect(result.frames.count >= 2, "\(context)")

        let leaf = syms.symbolize(before.pc)
        #expect(leaf.module == "libc.so.6", "\(context)")
        if leaf.resolved { #expect(leaf.name.hasPrefix("__lll_lock_wait") || leaf.name.contains("futex"), "\(context)") }
        let iLock = names.firstIndex { $0.contains("pthread_mutex_lock") }
        let iInner = names.firstIndex(of: "lock_inner")
        let iOuter = names.firstIndex(of: "lock_outer")
        let iWorker = names.firstIndex(of: "worker")
        #expect(iLock != nil && iInner != nil && iOuter != nil && iWorker != nil, "\(context)")
        if let iLock, let iInner, let iOuter, let iWorker {
            #expect(0 < iLock && iLock < iInner && iInner < iOuter && iOuter < iWorker, "\(context)")
            #expect(iOuter == iInner + 1 && iWorker == iOuter + 1, "\(context)")
        }
        // The frame-pointer walk alone reaches lock_outer; the recovered frames add the rest.
        #expect(fpNames.contains("lock_outer"), "\(context)")

        // A leaf context that does not belong to the stack changes nothing.
        #expect(syms.mergedUserStack(ip: before.pc &+ 1, sp: before.sp, bp: bp, stack: stack, fpFrames: fp) == fp)
        // Without captured bytes nothing is recovered (and nothing breaks).
        let none = syms.unwindLeaf(ip: before.pc, sp: before.sp, bp: bp, stack: [], fpFrames: fp)
        #expect(none.frames.isEmpty)
        #expect(syms.mergedUserStack(ip: before.pc, sp: before.sp, bp: bp, stack: [], fpFrames: fp) == fp)
        // The opt-in scan changes nothing when the CFI suffices.
        #expect(syms.unwindLeaf(ip: before.pc, sp: before.sp, bp: bp, stack: stack, fpFrames: fp, scanWithoutCFI: true) == result)
    }

    /// Checks that the opt-in stack scan finds the same frames on the live fixture when the CFI
    /// is pretended away (every word it takes points right after a call in executable code).
    @Test func liveScanWithoutCFI() throws {
        let fx = try sharedUnwindFixtures.get()
        let p = try LiveProcess(fx.program)
        defer { p.stop() }
        let tid = try p.value("waiter")
        var blocked: (nr: Int, sp: UInt64, pc: UInt64)? = nil
        for _ in 0..<1000 {
            if let s = blockedSyscall(pid: p.pid, tid: tid), s.nr == futexSyscall { blocked = s; break }
            usleep(5000)
        }
        let b = try #require(blocked)
        let regs = try run([fx.regs, String(tid)])
        let bpLine = try #require(regs.split(separator: "\n").first { $0.hasPrefix("rbp ") })
        let bp = try #require(UInt64(bpLine.dropFirst(6), radix: 16))
        usleep(20000)
        let stack = try #require(readProcessMemory(pid: p.pid, address: b.sp, count: 512))
        let fp = framePointerWalk(pid: p.pid, ip: b.pc, bp: bp)
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        let u = LeafUnwinder(ip: b.pc, sp: b.sp, bp: bp, stack: stack, fpReturn: fp.count > 1 ? fp[1] : nil)
        let scanned = u.scan(from: b.sp, limit: 16, isReturnAddress: syms.isLikelyReturnAddress)
        let cfi = syms.unwindLeaf(ip: b.pc, sp: b.sp, bp: bp, stack: stack, fpFrames: fp)
        let names = syms.symbolize([b.pc] + scanned.frames).map(\.name)
        // Every CFI frame is found by the scan, in order (the scan may add stale ones).
        var it = scanned.frames.makeIterator()
        let inOrder = cfi.frames.allSatisfy { f in
            while let s = it.next() { if s == f { return true } }
            return false
        }
        #expect(inOrder && scanned.joined, "scan \(names), cfi \(cfi.frames)")
    }
}
