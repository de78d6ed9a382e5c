/// Leaf-frame recovery: the frames a frame-pointer walk misses between the leaf and the first
/// function that keeps a frame pointer (code built without frame pointers, like Debian's
/// glibc), recovered with `.eh_frame` CFI from the registers and the top of the user stack
/// captured at the syscall.
///
/// Why they are missed: at the syscall rbp still holds the base of the first frame-pointer
/// frame (the no-frame-pointer functions above it did not touch it), so the walk's first return
/// address is [rbp+8], the return address *of* that frame. The return addresses into the
/// functions in between lie on the stack between sp and rbp.

/// What `ProcessSymbols.unwindLeaf` found.
public struct LeafUnwindResult: Equatable, Sendable {
    /// Why the unwind stopped.
    public enum Stop: Equatable, Sendable {
        /// The next frame is the frame-pointer walk's first frame (its CFA is rbp + 16 with the
        /// captured rbp): the recovered frames join `fpFrames[1]` exactly.
        case reachedFramePointerChain
        /// The next return address is `fpFrames[1]`.
        case matchedFramePointerReturn
        /// No CFI covers this pc (JIT code, a stripped `.eh_frame`, an unmapped address).
        case noCFI(pc: UInt64)
        /// The CFI there cannot be followed here (a CFA expression, a CFA in a register other
        /// than rsp/rbp, an unknown rbp, malformed instructions).
        case unsupportedCFI(pc: UInt64)
        /// The return address lies outside the captured stack bytes.
        case outsideCapturedStack(address: UInt64)
        /// The return address column is undefined, or the return address is 0 (thread start).
        case outermostFrame
        /// The CFA did not move up the stack.
        case badFrame(pc: UInt64)
        case frameLimit
    }

    /// Recovered return addresses, leaf side first: they go between the leaf (`fpFrames[0]`)
    /// and `fpFrames[1]`.
    public var frames: [UInt64]
    public var stop: Stop
    /// How many of `frames` (the last ones) were found by stack scanning, not CFI.
    public var scannedFrames: Int

    public init(frames: [UInt64], stop: Stop, scannedFrames: Int = 0) {
        self.frames = frames
        self.stop = stop
        self.scannedFrames = scannedFrames
    }

    /// The recovered frames join the frame-pointer walk exactly (nothing is missing between).
    public var joinsFramePointerChain: Bool {
        stop == .reachedFramePointerChain || stop == .matchedFramePointerReturn
    }
}

struct LeafUnwinder {
    enum Lookup {
        case row(UnwindRow)
        case noCFI
        case unsupported
    }

    /// At most this many recovered frames.
    static let defaultMaxFrames = 16

    var ip: UInt64
    var sp: UInt64
    var bp: UInt64
    /// The captured user stack, from `sp`: its length, and its little-endian 8-byte word at
    /// a byte offset (nil outside). Read through a function so that the bytes can be an array
    /// of their own or a view of bytes held elsewhere (the leaf contexts of 100,000 stacks are
    /// not copied one by one).
    var stackCount: Int
    var stackWord: (Int) -> UInt64?
    /// `fpFrames[1]` of the frame-pointer walk, when it has one.
    var fpReturn: UInt64?
    var maxFrames = LeafUnwinder.defaultMaxFrames

    init(ip: UInt64, sp: UInt64, bp: UInt64, stack: [UInt8], fpReturn: UInt64?,
         maxFrames: Int = LeafUnwinder.defaultMaxFrames) {
        self.init(ip: ip, sp: sp, bp: bp, stackCount: stack.count, stackWord: { stack.u64(at: $0) },
                  fpReturn: fpReturn, maxFrames: maxFrames)
    }

    /// With stack bytes held elsewhere: valid while `stack` is (the unwinder lives in one call).
    init(ip: UInt64, sp: UInt64, bp: UInt64, stackBytes stack: UnsafeRawBufferPointer, fpReturn: UInt64?,
         maxFrames: Int = LeafUnwinder.defaultMaxFrames) {
        self.init(ip: ip, sp: sp, bp: bp, stackCount: stack.count, stackWord: { offset in
            guard offset >= 0, offset <= stack.count - 8 else { return nil }
            return UInt64(littleEndian: stack.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }, fpReturn: fpReturn, maxFrames: maxFrames)
    }

    private init(ip: UInt64, sp: UInt64, bp: UInt64, stackCount: Int, stackWord: @escaping (Int) -> UInt64?,
                 fpReturn: UInt64?, maxFrames: Int) {
        self.ip = ip
        self.sp = sp
        self.bp = bp
        self.stackCount = stackCount
        self.stackWord = stackWord
        self.fpReturn = fpReturn
        self.maxFrames = maxFrames
    }

    /// The 8-byte word at `address`, if it lies inside the captured bytes.
    func word(at address: UInt64) -> UInt64? {
        guard address >= sp else { return nil }
        let off = address - sp
        guard off <= UInt64(stackCount), let v = stackWord(Int(off)) else { return nil }
        return v
    }

    /// Unwinds from the leaf. `lookup(pc, isLeaf)` gives the row for a pc (for callers, the
    /// pc passed is the return address minus 1, inside the call instruction).
    func unwind(lookup: (UInt64) -> Lookup) -> (result: LeafUnwindResult, sp: UInt64, bp: UInt64?) {
        var frames: [UInt64] = []
        var pc = ip
        var curSP = sp
        var curBP: UInt64? = bp
        var isLeaf = true
        func done(_ stop: LeafUnwindResult.Stop) -> (result: LeafUnwindResult, sp: UInt64, bp: UInt64?) {
            (LeafUnwindResult(frames: frames, stop: stop), curSP, curBP)
        }
        while true {
            let lookupPC = isLeaf ? pc : pc &- 1
            let row: UnwindRow
            switch lookup(lookupPC) {
            case .row(let r): row = r
            case .noCFI: return done(.noCFI(pc: pc))
            case .unsupported: return done(.unsupportedCFI(pc: pc))
            }
            // This frame's CFA.
            let cfa: UInt64
            switch row.cfa {
            case .registerOffset(X86Reg.rsp, let off):
                cfa = curSP &+ UInt64(bitPattern: off)
            case .registerOffset(X86Reg.rbp, let off):
                guard let b = curBP else { return done(.unsupportedCFI(pc: pc)) }
                // A frame-pointer frame based on the captured rbp: the walk's first frame, whose
                // return address is already fpFrames[1].
                if b == bp { return done(.reachedFramePointerChain) }
                cfa = b &+ UInt64(bitPattern: off)
            case .pltExpression(let off, let threshold):
                cfa = curSP &+ UInt64(bitPattern: off) &+ (UInt8(pc & 15) >= threshold ? 8 : 0)
            default:
                return done(.unsupportedCFI(pc: pc))
            }
            // The frame that ends at rbp + 16 is the frame-pointer walk's first one, whatever
            // its CFI says.
            if cfa == bp &+ 16 && bp != 0 { return done(.reachedFramePointerChain) }
            guard cfa > curSP, cfa &- curSP <= 1 << 20 else { return done(.badFrame(pc: pc)) }
            if frames.count >= maxFrames { return done(.frameLimit) }

            let raAddress: UInt64
            switch row[X86Reg.ra] {
            case .offset(let off): raAddress = cfa &+ UInt64(bitPattern: off)
            case .unspecified, .sameValue: raAddress = cfa &- 8
            case .undefined: return done(.outermostFrame)
            default: return done(.unsupportedCFI(pc: pc))
            }
            guard let ra = word(at: raAddress) else { return done(.outsideCapturedStack(address: raAddress)) }
            if ra == 0 { return done(.outermostFrame) }
            if let fpReturn, ra == fpReturn { return done(.matchedFramePointerReturn) }

            // The caller's rbp.
            switch row[X86Reg.rbp] {
            case .unspecified, .sameValue: break
            case .offset(let off): curBP = word(at: cfa &+ UInt64(bitPattern: off))
            case .valOffset(let off): curBP = cfa &+ UInt64(bitPattern: off)
            case .register(X86Reg.rsp): curBP = curSP
            case .register(X86Reg.rbp): break
            default: curBP = nil
            }
            frames.append(ra)
            pc = ra
            curSP = cfa
            isLeaf = false
        }
    }

    /// Conservative stack scan, for a frame without CFI: the words in [from, rbp) (or to the
    /// end of the captured bytes when rbp is not above `from`) that `isReturnAddress` accepts
    /// (an address in executable code right after a call instruction). Stale return addresses
    /// left by earlier calls pass that test too, which is why scanning is off by default.
    func scan(from: UInt64, limit: Int, isReturnAddress: (UInt64) -> Bool) -> (frames: [UInt64], joined: Bool) {
        var out: [UInt64] = []
        guard from >= sp, limit > 0 else { return ([], false) }
        let capturedEnd = sp &+ UInt64(stackCount)
        let end = bp > from && bp < capturedEnd ? bp : capturedEnd
        var a = from
        while a &+ 8 <= end, out.count < limit {
            guard let w = word(at: a) else { break }
            if let fpReturn, w == fpReturn { return (out, true) }
            if w > 4096, isReturnAddress(w) { out.append(w) }
            a &+= 8
        }
        // Stopping at rbp: the next return address is [rbp + 8], fpFrames[1].
        return (out, end == bp && bp > from)
    }
}

/// Call instruction encodings that end right before a return address (x86-64).
enum X86CallCheck {
    /// True when the bytes just before `code.count` end with a call: `E8 rel32`, or `FF /2`
    /// (indirect call through a register or memory, any addressing form, with or without REX).
    /// `code` holds the (up to) 7 bytes that precede the return address.
    static func endsWithCall(_ code: [UInt8]) -> Bool {
        let n = code.count
        func b(_ back: Int) -> UInt8? { back >= 1 && back <= n ? code[n - back] : nil }
        if b(5) == 0xe8 { return true }
        // FF /2 with a ModRM at -(len-1): check each possible length.
        for len in 2...7 {
            guard b(len) == 0xff, let modrm = b(len - 1), modrm & 0x38 == 0x10 else { continue }
            let mod = modrm >> 6
            let rm = modrm & 7
            var expected = 2
            switch mod {
            case 3: expected = 2
            case 0:
                if rm == 5 { expected = 6 }  // [rip + disp32]
                else if rm == 4 {
                    guard let sib = b(len - 2) else { continue }
                    expected = (sib & 7) == 5 ? 7 : 3
                } else { expected = 2 }
            case 1: expected = rm == 4 ? 4 : 3
            default: expected = rm == 4 ? 7 : 6
            }
            if expected == len { return true }
        }
        return false
    }
}
