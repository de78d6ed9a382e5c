/// CPython: the struct offsets of one exact interpreter version (from its own headers:
/// scripts/python/offsets.c, table in PythonLayoutTable.swift), the interpreter found in
/// a traced process, and the raw Python frame chains the kernel side reads (bpf/python.bpf.h).
public struct PythonLayout: Sendable, Equatable {
    /// Offsets in bytes; 0xffff where a version has no such field.
    public var runtimeInterpretersHead, interpThreadsHead, tstateNext, tstateThreadId: UInt16
    public var tstateNativeThreadId: UInt16
    /// PyThreadState: `frame` (3.10), `cframe` (3.11, 3.12), `current_frame` (3.13).
    public var tstateFrame, cframeCurrentFrame: UInt16
    /// The frame: PyFrameObject (3.10) or _PyInterpreterFrame (3.11+).
    public var framePrevious, frameCode, frameInstr, frameOwner, ownerCstack: UInt16
    /// PyCodeObject.
    public var codeAdaptive, codeQualname, codeFilename, codeName, codeFirstlineno, codeLinetable: UInt16
    /// PyBytesObject and PyUnicodeObject (compact strings).
    public var bytesSize, bytesData, unicodeLength, unicodeState, unicodeAsciiData, unicodeCompactData: UInt16
    /// The GIL's struct from _PyRuntime (the main interpreter's, 3.12+), its size, `last_holder`.
    public var gil, gilSize, gilLastHolder: UInt32
    /// Thread names (3.11, 3.12): a frame's first local, a heap type's cached keys, the dict
    /// keys object and dict fields.
    public var frameLocalsplus, typeCachedKeys, keysLog2IndexBytes, keysKind, keysNentries, keysIndices: UInt16
    public var dictKeys, dictValues: UInt16

    public init(runtimeInterpretersHead: UInt16, interpThreadsHead: UInt16, tstateNext: UInt16, tstateThreadId: UInt16,
                tstateNativeThreadId: UInt16 = 0xffff, tstateFrame: UInt16, cframeCurrentFrame: UInt16,
                framePrevious: UInt16, frameCode: UInt16, frameInstr: UInt16, frameOwner: UInt16, ownerCstack: UInt16,
                codeAdaptive: UInt16, codeQualname: UInt16, codeFilename: UInt16, codeName: UInt16,
                codeFirstlineno: UInt16, codeLinetable: UInt16, bytesSize: UInt16, bytesData: UInt16,
                unicodeLength: UInt16, unicodeState: UInt16, unicodeAsciiData: UInt16, unicodeCompactData: UInt16,
                gil: UInt32, gilSize: UInt32, gilLastHolder: UInt32,
                frameLocalsplus: UInt16 = 0xffff, typeCachedKeys: UInt16 = 0xffff, keysLog2IndexBytes: UInt16 = 0xffff,
                keysKind: UInt16 = 0xffff, keysNentries: UInt16 = 0xffff, keysIndices: UInt16 = 0xffff,
                dictKeys: UInt16 = 0xffff, dictValues: UInt16 = 0xffff) {
        self.runtimeInterpretersHead = runtimeInterpretersHead
        self.interpThreadsHead = interpThreadsHead
        self.tstateNext = tstateNext
        self.tstateThreadId = tstateThreadId
        self.tstateNativeThreadId = tstateNativeThreadId
        self.tstateFrame = tstateFrame
        self.cframeCurrentFrame = cframeCurrentFrame
        self.framePrevious = framePrevious
        self.frameCode = frameCode
        self.frameInstr = frameInstr
        self.frameOwner = frameOwner
        self.ownerCstack = ownerCstack
        self.codeAdaptive = codeAdaptive
        self.codeQualname = codeQualname
        self.codeFilename = codeFilename
        self.codeName = codeName
        self.codeFirstlineno = codeFirstlineno
        self.codeLinetable = codeLinetable
        self.bytesSize = bytesSize
        self.bytesData = bytesData
        self.unicodeLength = unicodeLength
        self.unicodeState = unicodeState
        self.unicodeAsciiData = unicodeAsciiData
        self.unicodeCompactData = unicodeCompactData
        self.gil = gil
        self.gilSize = gilSize
        self.gilLastHolder = gilLastHolder
        self.frameLocalsplus = frameLocalsplus
        self.typeCachedKeys = typeCachedKeys
        self.keysLog2IndexBytes = keysLog2IndexBytes
        self.keysKind = keysKind
        self.keysNentries = keysNentries
        self.keysIndices = keysIndices
        self.dictKeys = dictKeys
        self.dictValues = dictValues
    }
}

/// PY_VERSION_HEX, printable.
public struct PythonVersion: Sendable, Hashable, CustomStringConvertible {
    public var hex: UInt32
    public init(hex: UInt32) { self.hex = hex }
    public var major: Int { Int(hex >> 24) }
    public var minor: Int { Int((hex >> 16) & 0xff) }
    public var micro: Int { Int((hex >> 8) & 0xff) }
    public var description: String {
        var s = "\(major).\(minor).\(micro)"
        let level = (hex >> 4) & 0xf, serial = hex & 0xf
        switch level {
        case 0xa: s += "a\(serial)"
        case 0xb: s += "b\(serial)"
        case 0xc: s += "rc\(serial)"
        default: break
        }
        return s
    }

    /// How the kernel side links frames (SWOFFCPU_PY_KIND_*): 3.10, 3.11, 3.12+.
    public var frameKind: UInt16 { minor <= 10 ? 0 : minor == 11 ? 1 : 2 }
}

/// The CPython interpreter of one traced process.
public struct PythonTarget: Sendable, Equatable {
    public var pid: Int32
    /// Address of `_PyRuntime` in the process.
    public var runtime: UInt64
    public var version: PythonVersion
    public var layout: PythonLayout
    /// The file that holds the interpreter (`python3.11`, `libpython3.12.so.1.0`).
    public var module: String

    public init(pid: Int32, runtime: UInt64, version: PythonVersion, layout: PythonLayout, module: String) {
        self.pid = pid
        self.runtime = runtime
        self.version = version
        self.layout = layout
        self.module = module
    }

    /// The GIL's struct: a futex wait on an address inside is a wait to take the GIL.
    public var gilRange: Range<UInt64> {
        let start = runtime + UInt64(layout.gil)
        return start..<(start + UInt64(layout.gilSize))
    }
}

/// One Python frame as read by the kernel side: the code object and the instruction.
public struct PythonRawFrame: Sendable, Hashable {
    /// PyCodeObject address.
    public var code: UInt64
    /// Address of the instruction (3.11+), or its index (3.10's f_lasti).
    public var instr: UInt64
    /// The first frame of a _PyEval_EvalFrameDefault call (its bottom).
    public var isEntry: Bool

    public init(code: UInt64, instr: UInt64, isEntry: Bool) {
        self.code = code
        self.instr = instr
        self.isEntry = isEntry
    }
}

/// A thread's Python frame chain at a stack walk, innermost first.
public struct PythonRawStack: Sendable, Hashable {
    public var frames: [PythonRawFrame]
    /// The thread was waiting to take the GIL.
    public var gilWait: Bool
    /// Deeper than the kernel side reads: the outermost frames are missing.
    public var truncated: Bool

    public init(frames: [PythonRawFrame], gilWait: Bool = false, truncated: Bool = false) {
        self.frames = frames
        self.gilWait = gilWait
        self.truncated = truncated
    }
}
