import Glibc
import SwoffcpuCore
import SwoffcpuSymbolizer

/// Python frames: which traced processes run a known CPython (`targets`), and the names of
/// their code objects read from the live process (`PythonCode`), woven into native stacks in
/// place of the interpreter's `_PyEval_EvalFrameDefault` frames (`weave`).
public enum PythonFrames {
    /// The interpreters of `pids` whose exact version has a layout, and a line for each
    /// Python process left with native frames only (an unknown version, say).
    public static func targets(pids: [Int32]) -> (targets: [PythonTarget], notes: [String]) {
        var targets: [PythonTarget] = [], notes: [String] = []
        for pid in pids {
            let (location, why) = PythonProbe.locate(pid: pid)
            if let why { notes.append("pid \(pid): \(why): native frames only") }
            guard let location else { continue }
            let version = PythonVersion(hex: location.versionHex)
            // A free-threaded 3.13 (3.13t) has the same version number and other objects: its
            // _Py_DebugOffsets say so.
            if version.minor >= 13, let raw = PythonProbe.read(pid: pid, address: location.runtime, count: 24),
               raw.prefix(8).elementsEqual("xdebugpy".utf8),
               raw.withUnsafeBytes({ $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self) }) != 0 {
                notes.append("pid \(pid): Python \(version) (\(location.module)) is a free-threaded build: native frames only")
                continue
            }
            guard let layout = PythonLayout.known[location.versionHex]
                    ?? layoutFromDebugOffsets(pid: pid, runtime: location.runtime, hex: location.versionHex) else {
                notes.append("pid \(pid): Python \(version) (\(location.module)) has no known layout "
                             + "(scripts/python/offsets.sh): native frames only")
                continue
            }
            targets.append(PythonTarget(pid: pid, runtime: location.runtime, version: version, layout: layout,
                                        module: location.module))
        }
        return (targets, notes)
    }

    /// 3.13's `_Py_DebugOffsets`, which the interpreter publishes at the start of `_PyRuntime`
    /// for debuggers (cookie `xdebugpy`, then its version): the layout of a 3.13.x that has no
    /// table entry. Those offsets it publishes are taken from the process; the few it does not
    /// (compact `str` header size, the GIL struct's size, the C-stack owner value, dict keys
    /// internals for thread names) from the 3.13 layout in the table. The offsets of the
    /// struct's own fields are 3.13's (`offsetof(_Py_DebugOffsets, …)` from its header). Not for
    /// free-threaded builds (`free_threaded` set): their objects differ.
    public static func layoutFromDebugOffsets(pid: Int32, runtime: UInt64, hex: UInt32) -> PythonLayout? {
        guard hex >> 16 == 0x030d,
              var layout = PythonLayout.known.first(where: { $0.key >> 16 == 0x030d })?.value,
              let raw = PythonProbe.read(pid: pid, address: runtime, count: 584),
              raw.prefix(8).elementsEqual("xdebugpy".utf8) else { return nil }
        func u(_ o: Int) -> UInt64 { raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o, as: UInt64.self) } }
        func u16(_ o: Int) -> UInt16? { let v = u(o); return v < 0xffff ? UInt16(v) : nil }
        guard u(8) == UInt64(hex), u(16) == 0,
              let interpretersHead = u16(40), let threadsHead = u16(72), let next = u16(168),
              let currentFrame = u16(184), let threadID = u16(192), let nativeID = u16(200),
              let previous = u16(232), let executable = u16(240), let instr = u16(248), let localsplus = u16(256),
              let owner = u16(264), let filename = u16(280), let name = u16(288), let qualname = u16(296),
              let linetable = u16(304), let firstlineno = u16(312), let adaptive = u16(344),
              let maKeys = u16(456), let maValues = u16(464), let bytesSize = u16(520), let bytesData = u16(528),
              let state = u16(544), let length = u16(552), let asciiSize = u16(560) else { return nil }
        // The main interpreter: the last of the list (the oldest); its GIL at gil_runtime_state.
        let interpNext = u(64), gilInInterp = u(120)
        guard var interp = PythonProbe.read(pid: pid, address: runtime + UInt64(interpretersHead), count: 8)?
                .withUnsafeBytes({ $0.loadUnaligned(as: UInt64.self) }), interp > runtime else { return nil }
        for _ in 0..<64 {
            guard let n = PythonProbe.read(pid: pid, address: interp + interpNext, count: 8)?
                    .withUnsafeBytes({ $0.loadUnaligned(as: UInt64.self) }), n != 0 else { break }
            interp = n
        }
        guard interp > runtime, interp - runtime + gilInInterp < UInt64(UInt32.max) else { return nil }
        layout.runtimeInterpretersHead = interpretersHead
        layout.interpThreadsHead = threadsHead
        layout.tstateNext = next
        layout.tstateThreadId = threadID
        layout.tstateNativeThreadId = nativeID
        layout.tstateFrame = currentFrame
        layout.cframeCurrentFrame = 0xffff
        layout.framePrevious = previous
        layout.frameCode = executable
        layout.frameInstr = instr
        layout.frameLocalsplus = localsplus
        layout.frameOwner = owner
        layout.codeFilename = filename
        layout.codeName = name
        layout.codeQualname = qualname
        layout.codeLinetable = linetable
        layout.codeFirstlineno = firstlineno
        layout.codeAdaptive = adaptive
        layout.dictKeys = maKeys
        layout.dictValues = maValues
        layout.bytesSize = bytesSize
        layout.bytesData = bytesData
        layout.unicodeState = state
        layout.unicodeLength = length
        layout.unicodeAsciiData = asciiSize
        layout.gil = UInt32(interp - runtime + gilInInterp)
        return layout
    }

    /// Whether a native frame is the interpreter's evaluation loop, which each group of Python
    /// frames replaces.
    static func isEvalFrame(_ name: String) -> Bool {
        name == "_PyEval_EvalFrameDefault" || name.hasPrefix("_PyEval_EvalFrameDefault.")
            || name == "_PyEval_EvalFrame" || name == "PyEval_EvalFrameEx"
    }

    /// Frames that end a complete native stack (its root).
    static func isRoot(_ name: String) -> Bool {
        name == "start_thread" || name == "clone3" || name == "clone" || name == "_start" || name == "__libc_start_main"
            || name == "__libc_start_call_main"
    }

    /// `native` (leaf first) with the Python frames in place: each `_PyEval_EvalFrameDefault`
    /// takes the next group of `python` (innermost first; a group ends at a frame its call began
    /// with), named by `name`. Groups left over (a native walk that did not reach them) go
    /// beyond the last native frame that belongs to the stack: a frame-pointer walk through
    /// code built without frame pointers ends in frames that are not the thread's; those
    /// past the last interpreter frame are dropped then.
    static func weave(native: [String], python: PythonRawStack, minor: Int, name: (PythonRawFrame) -> String) -> [String] {
        var groups: [[PythonRawFrame]] = []
        var current: [PythonRawFrame] = []
        for f in python.frames {
            current.append(f)
            // 3.10: one evaluation-loop call a frame.
            if f.isEntry || minor <= 10 {
                groups.append(current)
                current = []
            }
        }
        if !current.isEmpty { groups.append(current) }
        var out: [String] = []
        out.reserveCapacity(native.count + python.frames.count + 1)
        if python.gilWait { out.append("[GIL]") }
        var next = 0
        var lastEval = -1
        for (i, n) in native.enumerated() where isEvalFrame(n) { lastEval = i }
        let complete = native.last.map(isRoot) ?? false
        for (i, n) in native.enumerated() {
            // Python 3.12's perf trampolines (-X perf): the frames woven in name them better.
            if n.hasPrefix("py::") { continue }
            if isEvalFrame(n), next < groups.count {
                out += groups[next].map(name)
                next += 1
                continue
            }
            // Groups left and a walk that did not end at a root: what follows the last
            // interpreter frame that took a group is the walk gone astray, not this thread's.
            if next < groups.count, !complete, i > lastEval, lastEval >= 0 { break }
            out.append(n)
        }
        if next < groups.count {
            if lastEval < 0 && !complete {
                // No interpreter frame at all in the walk: keep the frames down to the first
                // that is not a named function (the walk left the frame chain there).
                var keep = out.count
                for (i, n) in out.enumerated() where i > 0 && !isNamed(n) { keep = i; break }
                out.removeLast(out.count - keep)
            }
            for g in groups[next...] { out += g.map(name) }
            if python.truncated { out.append("[python: deeper frames not read]") }
        }
        return out
    }

    /// A symbol name rather than a fallback (`module+0x…`, `[anon]+0x…`, `[unknown]+0x…`).
    static func isNamed(_ n: String) -> Bool {
        !(n.hasPrefix("[") || n.contains("+0x"))
    }
}

/// The code objects of one Python process, read from its memory once each (by address).
public final class PythonCode: @unchecked Sendable {
    public let target: PythonTarget
    private var fd: Int32 = -1
    private var names: [UInt64: CodeInfo] = [:]
    private let lock = NSLockLike()

    struct CodeInfo {
        var qualname: String
        var file: String
        var firstLine: Int
        var lineTable: [UInt8]
    }

    public init(target: PythonTarget) {
        self.target = target
        fd = open("/proc/\(target.pid)/mem", O_RDONLY | O_CLOEXEC)
    }

    deinit { if fd >= 0 { close(fd) } }

    private func read(_ address: UInt64, _ count: Int) -> [UInt8]? {
        guard fd >= 0, count > 0, count <= 1 << 20, address > 4096, address <= UInt64(Int64.max) else { return nil }
        var buf = [UInt8](repeating: 0, count: count)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(bitPattern: UInt(address))) }
        return n == count ? buf : nil
    }

    private func u64(_ address: UInt64) -> UInt64? {
        read(address, 8)?.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    private func u32(_ address: UInt64) -> UInt32? {
        read(address, 4)?.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }

    /// A `str` object's text (compact strings: every identifier and file name).
    func string(_ object: UInt64) -> String? {
        let l = target.layout
        guard object != 0, let length = u64(object + UInt64(l.unicodeLength)), length <= 4096,
              let state = u32(object + UInt64(l.unicodeState)) else { return nil }
        let kind = Int((state >> 2) & 7), compact = (state >> 5) & 1 != 0, ascii = (state >> 6) & 1 != 0
        guard compact, kind == 1 || kind == 2 || kind == 4 else { return nil }
        let data = object + UInt64(ascii ? l.unicodeAsciiData : l.unicodeCompactData)
        if length == 0 { return "" }
        guard let bytes = read(data, Int(length) * kind) else { return nil }
        if kind == 1 { return ascii ? String(decoding: bytes, as: UTF8.self) : String(bytes.map { Character(Unicode.Scalar($0)) }) }
        var s = String.UnicodeScalarView()
        bytes.withUnsafeBytes { raw in
            for i in 0..<Int(length) {
                let v: UInt32 = kind == 2 ? UInt32(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                    : raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                if let u = Unicode.Scalar(v) { s.append(u) }
            }
        }
        return String(s)
    }

    private func bytes(_ object: UInt64) -> [UInt8]? {
        let l = target.layout
        guard object != 0, let size = u64(object + UInt64(l.bytesSize)), size <= 1 << 20 else { return nil }
        if size == 0 { return [] }
        return read(object + UInt64(l.bytesData), Int(size))
    }

    /// Reads and keeps the names of `codes` now, while the process lives: a process that exits
    /// before the report would leave them `[python: code … unreadable]`.
    public func prefetch(_ codes: [UInt64]) {
        for c in codes { _ = info(c) }
    }

    private func info(_ code: UInt64) -> CodeInfo? {
        if let i = lock.withLock({ names[code] }) { return i }
        let l = target.layout
        guard let namePtr = u64(code + UInt64(target.version.minor >= 11 ? l.codeQualname : l.codeName)),
              let name = string(namePtr),
              let filePtr = u64(code + UInt64(l.codeFilename)), let file = string(filePtr),
              let first = u32(code + UInt64(l.codeFirstlineno)) else { return nil }
        let table = u64(code + UInt64(l.codeLinetable)).flatMap(bytes) ?? []
        let info = CodeInfo(qualname: name, file: file, firstLine: Int(Int32(bitPattern: first)), lineTable: table)
        lock.withLock { names[code] = info }
        return info
    }

    private func u8(_ address: UInt64) -> UInt8? { read(address, 1)?.first }

    /// The interpreter's names of its threads, by native thread id (3.11–3.13): for each thread
    /// state of the main interpreter, the `Thread` object is `self` of its `Thread._bootstrap`
    /// frame, and its name the `_name` attribute (instance values through the type's cached
    /// keys, or its dict). The main thread is threading's `MainThread`.
    public func threadNames() -> [Int32: String] {
        let l = target.layout, minor = target.version.minor
        guard (11...13).contains(minor), l.tstateNativeThreadId != 0xffff, l.frameLocalsplus != 0xffff,
              let interp = u64(target.runtime + UInt64(l.runtimeInterpretersHead)), interp != 0,
              var t = u64(interp + UInt64(l.interpThreadsHead)) else { return [:] }
        var out: [Int32: String] = [target.pid: "MainThread"]
        var seen = Set<UInt64>()
        while t != 0, seen.insert(t).inserted, seen.count <= 4096 {
            defer { t = u64(t + UInt64(l.tstateNext)) ?? 0 }
            guard let tid = u64(t + UInt64(l.tstateNativeThreadId)), tid != 0, tid < UInt64(Int32.max),
                  let first = u64(t + UInt64(l.tstateFrame)), first != 0,
                  // 3.13: tstate->current_frame; 3.11, 3.12: tstate->cframe->current_frame.
                  var frame = l.cframeCurrentFrame == 0xffff ? first : u64(first + UInt64(l.cframeCurrentFrame))
            else { continue }
            var depth = 0
            while frame != 0, depth < 256 {
                depth += 1
                if let code = u64(frame + UInt64(l.frameCode)), code != 0,
                   let qualname = u64(code + UInt64(l.codeQualname)).flatMap(string), qualname == "Thread._bootstrap",
                   let me = u64(frame + UInt64(l.frameLocalsplus)), me != 0,
                   let nameObject = attribute(me, "_name"), let name = string(nameObject) {
                    out[Int32(tid)] = name
                    break
                }
                frame = u64(frame + UInt64(l.framePrevious)) ?? 0
            }
        }
        return out
    }

    /// An instance attribute of a heap-type object (3.11, 3.12 managed dicts, 3.13 inline values).
    private func attribute(_ object: UInt64, _ name: String) -> UInt64? {
        let l = target.layout
        guard object > 32, let type = u64(object + 8) else { return nil }
        var values: UInt64 = 0, dict: UInt64 = 0
        if target.version.minor == 11 {
            values = u64(object - 32) ?? 0
            dict = u64(object - 24) ?? 0
        } else if target.version.minor >= 13 {
            // Inline values right after the object header (capacity, size, embedded, valid,
            // then the values), unless a dict took over (managed dict pointer before it).
            dict = u64(object - 24) ?? 0
            if dict == 0, let valid = u8(object + 16 + 3), valid != 0 { values = object + 24 }
        } else {
            let dorv = u64(object - 24) ?? 0
            if dorv & 1 != 0 { values = dorv &+ 1 } else { dict = dorv }
        }
        if values != 0, let keys = u64(type + UInt64(l.typeCachedKeys)), let (i, _) = keyIndex(keys, name) {
            return u64(values + UInt64(8 * i))
        }
        if dict != 0, let keys = u64(dict + UInt64(l.dictKeys)), let (i, entryValue) = keyIndex(keys, name) {
            let dictValues = u64(dict + UInt64(l.dictValues)) ?? 0
            return dictValues != 0 ? u64(dictValues + UInt64(8 * i)) : entryValue
        }
        return nil
    }

    /// The entry index of a `str` key in a dict keys object, and the entry's own value.
    private func keyIndex(_ keys: UInt64, _ name: String) -> (Int, UInt64?)? {
        let l = target.layout
        guard keys != 0, let log2 = u8(keys + UInt64(l.keysLog2IndexBytes)), log2 < 32,
              let kind = u8(keys + UInt64(l.keysKind)), let n = u64(keys + UInt64(l.keysNentries)) else { return nil }
        let entries = keys + UInt64(l.keysIndices) + (UInt64(1) << UInt64(log2))
        let general = kind == 0 // DICT_KEYS_GENERAL: hash, key, value; else key, value
        let size: UInt64 = general ? 24 : 16, keyOffset: UInt64 = general ? 8 : 0
        for i in 0..<Int(min(n, 256)) {
            let e = entries + UInt64(i) * size
            guard let key = u64(e + keyOffset), key != 0, string(key) == name else { continue }
            return (i, u64(e + keyOffset + 8))
        }
        return nil
    }

    /// `module.function (file.py:line)`; the module is the file's name without `.py`.
    public func name(_ frame: PythonRawFrame) -> String {
        guard let info = info(frame.code) else { return "[python: code 0x\(String(frame.code, radix: 16)) unreadable]" }
        let base = info.file.split(separator: "/").last.map(String.init) ?? info.file
        let module = base.hasSuffix(".py") ? String(base.dropLast(3)) : base
        let line = self.line(frame, info)
        return "\(module).\(info.qualname) (\(base):\(line.map(String.init) ?? "?"))"
    }

    func line(_ frame: PythonRawFrame, _ info: CodeInfo) -> Int? {
        if target.version.minor <= 10 {
            return Self.line310(table: info.lineTable, firstLine: info.firstLine, byteOffset: Int(frame.instr) * 2)
        }
        let base = frame.code + UInt64(target.layout.codeAdaptive)
        guard frame.instr >= base else { return info.firstLine }
        return Self.line311(table: info.lineTable, firstLine: info.firstLine, unit: Int((frame.instr - base) / 2))
    }

    /// The line of code unit `unit` in a 3.11+ location table (Objects/locations.md).
    static func line311(table: [UInt8], firstLine: Int, unit: Int) -> Int? {
        var pos = 0, line = firstLine, addr = 0
        func varint() -> Int {
            guard pos < table.count else { return 0 }
            var b = Int(table[pos]); pos += 1
            var v = b & 63, shift = 0
            while b & 64 != 0, pos < table.count {
                b = Int(table[pos]); pos += 1
                shift += 6
                v |= (b & 63) << shift
            }
            return v
        }
        func svarint() -> Int {
            let v = varint()
            return v & 1 != 0 ? -(v >> 1) : v >> 1
        }
        while pos < table.count {
            let b = table[pos]; pos += 1
            let code = Int((b >> 3) & 15), length = Int(b & 7) + 1
            var hasLine = true
            switch code {
            case 15: hasLine = false
            case 14:
                line += svarint()
                _ = varint(); _ = varint(); _ = varint()
            case 13: line += svarint()
            case 10...12:
                line += code - 10
                pos += 2
            default:
                pos += 1
            }
            if unit < addr + length { return hasLine ? line : nil }
            addr += length
        }
        return nil
    }

    /// The line of byte offset `byteOffset` in a 3.10 line table (pairs of address and line deltas).
    static func line310(table: [UInt8], firstLine: Int, byteOffset: Int) -> Int? {
        var line = firstLine, addr = 0, i = 0
        while i + 1 < table.count {
            let sdelta = Int(table[i]), ldelta = Int(Int8(bitPattern: table[i + 1]))
            i += 2
            let noLine = ldelta == -128
            if !noLine { line += ldelta }
            let end = addr + sdelta
            if byteOffset >= addr && byteOffset < end { return noLine ? nil : line }
            addr = end
        }
        return nil
    }
}

/// A count shared by copies of a resolver (symbolization may run off the main thread).
final class FrameCount: @unchecked Sendable {
    private let lock = NSLockLike()
    private var n = 0
    func add(_ k: Int) { lock.withLock { n += k } }
    var value: Int { lock.withLock { n } }
}

/// A mutex without Foundation.
final class NSLockLike: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func withLock<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return body()
    }
}
