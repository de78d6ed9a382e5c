/// The DWARF call frame instructions of a CIE and an FDE, run up to one pc: the "row" of the
/// CFI table that says how to find the CFA and the caller's registers there.

/// How to recover a register of the caller.
enum RegisterRule: Equatable, Sendable {
    /// No rule (the ABI default: callee-saved registers keep their value).
    case unspecified
    /// DW_CFA_undefined: not recoverable (for the return address: the outermost frame).
    case undefined
    case sameValue
    /// Saved at CFA + n.
    case offset(Int64)
    /// The value is CFA + n.
    case valOffset(Int64)
    /// Held in another register.
    case register(UInt64)
    /// DW_CFA_expression / DW_CFA_val_expression: not evaluated here.
    case expression
    case valExpression
}

/// How to compute the CFA.
enum CFARule: Equatable, Sendable {
    case undefined
    case registerOffset(register: UInt64, offset: Int64)
    /// DW_CFA_def_cfa_expression: not evaluated here (cannot unwind).
    case expression
    /// The one CFA expression that is common: a lazy-binding PLT entry's (binutils),
    /// CFA = rsp + offset, plus 8 when (pc & 15) >= threshold (after its push).
    case pltExpression(offset: Int64, threshold: UInt8)

    /// Recognizes `DW_OP_breg7 N; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litK;
    /// DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus`.
    static func parse(expression e: ArraySlice<UInt8>) -> CFARule {
        var c = DwarfCursor(Array(e))
        guard c.u8() == 0x77, let n = c.sleb(), c.remaining == 9 else { return .expression }
        let rest = Array(e.suffix(9))
        guard rest[0] == 0x80, rest[1] == 0x00, rest[2] == 0x3f, rest[3] == 0x1a, rest[4] >= 0x30, rest[4] <= 0x3f,
              rest[5] == 0x2a, rest[6] == 0x33, rest[7] == 0x24, rest[8] == 0x22 else { return .expression }
        return .pltExpression(offset: n, threshold: rest[4] - 0x30)
    }
}

/// One row of the CFI table. Rules are kept for DWARF registers 0...16 (x86-64: the 16
/// general-purpose registers and the return address column); higher registers are parsed and
/// ignored.
struct UnwindRow: Equatable, Sendable {
    static let trackedRegisters = 17
    var cfa: CFARule = .undefined
    var registers: [RegisterRule] = Array(repeating: .unspecified, count: UnwindRow.trackedRegisters)

    subscript(_ reg: UInt64) -> RegisterRule {
        get { reg < UInt64(registers.count) ? registers[Int(reg)] : .unspecified }
        set { if reg < UInt64(registers.count) { registers[Int(reg)] = newValue } }
    }
}

enum CFIError: Error, Equatable, Sendable {
    case truncated(offset: Int)
    case unknownOpcode(UInt8, offset: Int)
    case stateStackOverflow
    case restoreStateWithoutRemember
}

/// x86-64 DWARF register numbers.
enum X86Reg {
    static let rbp: UInt64 = 6
    static let rsp: UInt64 = 7
    /// The return address column (rip).
    static let ra: UInt64 = 16
}

enum CFAProgram {
    /// DW_CFA_* opcodes (the primary ones live in the top two bits).
    static let advanceLoc: UInt8 = 0x40
    static let offset: UInt8 = 0x80
    static let restore: UInt8 = 0xc0
    static let nop: UInt8 = 0x00
    static let setLoc: UInt8 = 0x01
    static let advanceLoc1: UInt8 = 0x02
    static let advanceLoc2: UInt8 = 0x03
    static let advanceLoc4: UInt8 = 0x04
    static let offsetExtended: UInt8 = 0x05
    static let restoreExtended: UInt8 = 0x06
    static let undefined: UInt8 = 0x07
    static let sameValue: UInt8 = 0x08
    static let register: UInt8 = 0x09
    static let rememberState: UInt8 = 0x0a
    static let restoreState: UInt8 = 0x0b
    static let defCfa: UInt8 = 0x0c
    static let defCfaRegister: UInt8 = 0x0d
    static let defCfaOffset: UInt8 = 0x0e
    static let defCfaExpression: UInt8 = 0x0f
    static let expression: UInt8 = 0x10
    static let offsetExtendedSf: UInt8 = 0x11
    static let defCfaSf: UInt8 = 0x12
    static let defCfaOffsetSf: UInt8 = 0x13
    static let valOffset: UInt8 = 0x14
    static let valOffsetSf: UInt8 = 0x15
    static let valExpression: UInt8 = 0x16
    static let gnuArgsSize: UInt8 = 0x2e
    static let gnuNegativeOffsetExtended: UInt8 = 0x2f

    /// Most DW_CFA_remember_state nesting accepted.
    static let maxStateDepth = 64

    /// The row in effect at `pc` (module address) inside `fde`.
    static func row(for fde: FDE, in section: EhFrameSection, at pc: UInt64) -> Result<UnwindRow, CFIError> {
        row(cie: fde.cie, cieInstructions: fde.cie.instructions, fdeInstructions: fde.instructions,
            bytes: section.bytes, sectionVaddr: section.vaddr, dataBase: section.dataBase,
            pcBegin: fde.pcBegin, target: pc)
    }

    /// Runs the CIE's initial instructions, then the FDE's until the location passes `target`.
    static func row(cie: CIE, cieInstructions: Range<Int>, fdeInstructions: Range<Int>, bytes: [UInt8],
                    sectionVaddr: UInt64 = 0, dataBase: UInt64? = nil, pcBegin: UInt64, target: UInt64) -> Result<UnwindRow, CFIError> {
        var state = State(row: UnwindRow(), initial: nil, loc: pcBegin)
        // The CIE's instructions never move past the start (a location change there is ignored).
        if let e = run(&state, cie: cie, range: cieInstructions, bytes: bytes, sectionVaddr: sectionVaddr,
                       dataBase: dataBase, target: nil) {
            return .failure(e)
        }
        state.initial = state.row
        state.loc = pcBegin
        if let e = run(&state, cie: cie, range: fdeInstructions, bytes: bytes, sectionVaddr: sectionVaddr,
                       dataBase: dataBase, target: target) {
            return .failure(e)
        }
        return .success(state.row)
    }

    struct State {
        var row: UnwindRow
        /// The row after the CIE's instructions (DW_CFA_restore's reference); nil while
        /// running them.
        var initial: UnwindRow?
        var loc: UInt64
        var stack: [UnwindRow] = []
    }

    /// Runs the instructions in `range`. With a `target`, stops before the first location
    /// advance past it. Returns an error, or nil when done.
    /// With `emit` (and no target), every location advance reports the row in effect from the
    /// current location up to the new one (the whole table of an FDE, UnwindTable.swift).
    static func run(_ s: inout State, cie: CIE, range: Range<Int>, bytes: [UInt8], sectionVaddr: UInt64,
                    dataBase: UInt64?, target: UInt64?,
                    emit: ((_ from: UInt64, _ to: UInt64, _ row: UnwindRow) -> Void)? = nil) -> CFIError? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return .truncated(offset: range.lowerBound) }
        var c = DwarfCursor(bytes, offset: range.lowerBound, end: range.upperBound, baseVaddr: sectionVaddr)
        let dataAlign = cie.dataAlignment
        let codeAlign = cie.codeAlignment
        func factored(_ v: UInt64) -> Int64 { Int64(bitPattern: v) &* dataAlign }
        func restoreRule(_ reg: UInt64) -> RegisterRule { s.initial?[reg] ?? .unspecified }
        /// Moves the location; true when it passed the target (stop: the current row applies).
        func advance(to newLoc: UInt64) -> Bool {
            if let emit {
                emit(s.loc, newLoc, s.row)
                s.loc = newLoc
                return false
            }
            guard let target else { return false }
            if newLoc > target { return true }
            s.loc = newLoc
            return false
        }
        while !c.atEnd {
            let at = c.offset
            guard let op = c.u8() else { return .truncated(offset: at) }
            let high = op & 0xc0
            let low = UInt64(op & 0x3f)
            if high == advanceLoc {
                if advance(to: s.loc &+ low &* codeAlign) { return nil }
                continue
            }
            if high == offset {
                guard let off = c.uleb() else { return .truncated(offset: at) }
                s.row[low] = .offset(factored(off))
                continue
            }
            if high == restore {
                s.row[low] = restoreRule(low)
                continue
            }
            switch op {
            case nop:
                break
            case setLoc:
                guard let p = c.pointer(cie.fdeEncoding, dataBase: dataBase), !p.indirect else { return .truncated(offset: at) }
                if advance(to: p.value) { return nil }
            case advanceLoc1:
                guard let d = c.u8() else { return .truncated(offset: at) }
                if advance(to: s.loc &+ UInt64(d) &* codeAlign) { return nil }
            case advanceLoc2:
                guard let d = c.u16() else { return .truncated(offset: at) }
                if advance(to: s.loc &+ UInt64(d) &* codeAlign) { return nil }
            case advanceLoc4:
                guard let d = c.u32() else { return .truncated(offset: at) }
                if advance(to: s.loc &+ UInt64(d) &* codeAlign) { return nil }
            case offsetExtended:
                guard let r = c.uleb(), let off = c.uleb() else { return .truncated(offset: at) }
                s.row[r] = .offset(factored(off))
            case offsetExtendedSf:
                guard let r = c.uleb(), let off = c.sleb() else { return .truncated(offset: at) }
                s.row[r] = .offset(off &* dataAlign)
            case gnuNegativeOffsetExtended:
                guard let r = c.uleb(), let off = c.uleb() else { return .truncated(offset: at) }
                s.row[r] = .offset(0 &- factored(off))
            case valOffset:
                guard let r = c.uleb(), let off = c.uleb() else { return .truncated(offset: at) }
                s.row[r] = .valOffset(factored(off))
            case valOffsetSf:
                guard let r = c.uleb(), let off = c.sleb() else { return .truncated(offset: at) }
                s.row[r] = .valOffset(off &* dataAlign)
            case restoreExtended:
                guard let r = c.uleb() else { return .truncated(offset: at) }
                s.row[r] = restoreRule(r)
            case undefined:
                guard let r = c.uleb() else { return .truncated(offset: at) }
                s.row[r] = .undefined
            case sameValue:
                guard let r = c.uleb() else { return .truncated(offset: at) }
                s.row[r] = .sameValue
            case register:
                guard let r = c.uleb(), let r2 = c.uleb() else { return .truncated(offset: at) }
                s.row[r] = .register(r2)
            case rememberState:
                guard s.stack.count < maxStateDepth else { return .stateStackOverflow }
                s.stack.append(s.row)
            case restoreState:
                // The CFA rule is part of the saved state too (as GCC and libunwind treat it).
                guard let saved = s.stack.popLast() else { return .restoreStateWithoutRemember }
                s.row = saved
            case defCfa:
                guard let r = c.uleb(), let off = c.uleb() else { return .truncated(offset: at) }
                s.row.cfa = .registerOffset(register: r, offset: Int64(bitPattern: off))
            case defCfaSf:
                guard let r = c.uleb(), let off = c.sleb() else { return .truncated(offset: at) }
                s.row.cfa = .registerOffset(register: r, offset: off &* dataAlign)
            case defCfaRegister:
                guard let r = c.uleb() else { return .truncated(offset: at) }
                if case .registerOffset(_, let off) = s.row.cfa {
                    s.row.cfa = .registerOffset(register: r, offset: off)
                } else {
                    s.row.cfa = .registerOffset(register: r, offset: 0)
                }
            case defCfaOffset:
                guard let off = c.uleb() else { return .truncated(offset: at) }
                if case .registerOffset(let r, _) = s.row.cfa {
                    s.row.cfa = .registerOffset(register: r, offset: Int64(bitPattern: off))
                } else {
                    s.row.cfa = .undefined
                }
            case defCfaOffsetSf:
                guard let off = c.sleb() else { return .truncated(offset: at) }
                if case .registerOffset(let r, _) = s.row.cfa {
                    s.row.cfa = .registerOffset(register: r, offset: off &* dataAlign)
                } else {
                    s.row.cfa = .undefined
                }
            case defCfaExpression:
                guard let len = c.uleb(), c.skip(len) else { return .truncated(offset: at) }
                s.row.cfa = CFARule.parse(expression: bytes[(c.offset - Int(len))..<c.offset])
            case expression:
                guard let r = c.uleb(), let len = c.uleb(), c.skip(len) else { return .truncated(offset: at) }
                s.row[r] = .expression
            case valExpression:
                guard let r = c.uleb(), let len = c.uleb(), c.skip(len) else { return .truncated(offset: at) }
                s.row[r] = .valExpression
            case gnuArgsSize:
                guard c.uleb() != nil else { return .truncated(offset: at) }
            default:
                // DW_CFA_GNU_window_save (SPARC), vendor opcodes: their operands are unknown.
                return .unknownOpcode(op, offset: at)
            }
        }
        return nil
    }
}
