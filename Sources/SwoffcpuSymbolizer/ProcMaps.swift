/// One line of /proc/PID/maps.
public struct MapEntry: Sendable, Hashable {
    public var start: UInt64
    public var end: UInt64
    public var readable: Bool
    public var writable: Bool
    public var executable: Bool
    public var shared: Bool
    public var offset: UInt64
    public var devMajor: UInt32
    public var devMinor: UInt32
    public var inode: UInt64
    /// Path (without the " (deleted)" suffix), or a pseudo name (`[vdso]`, `[heap]`, `[anon:x]`), or "".
    public var path: String
    /// The maps line ended with " (deleted)".
    public var deleted: Bool

    public var isFileBacked: Bool { inode != 0 && path.hasPrefix("/") }
}

enum ProcMaps {
    /// Parses the text of /proc/PID/maps. Lines that do not parse are skipped.
    static func parse(_ bytes: [UInt8]) -> [MapEntry] {
        var out: [MapEntry] = []
        var lineStart = 0
        let n = bytes.count
        while lineStart < n {
            var lineEnd = lineStart
            while lineEnd < n, bytes[lineEnd] != 0x0a { lineEnd += 1 }
            if let e = parseLine(bytes[lineStart..<lineEnd]) { out.append(e) }
            lineStart = lineEnd + 1
        }
        return out
    }

    static func parseLine(_ line: ArraySlice<UInt8>) -> MapEntry? {
        var i = line.startIndex
        let end = line.endIndex
        func hexField(stop: UInt8) -> UInt64? {
            var v: UInt64 = 0
            var digits = 0
            while i < end, line[i] != stop {
                let c = line[i]
                let d: UInt64
                switch c {
                case 0x30...0x39: d = UInt64(c - 0x30)
                case 0x61...0x66: d = UInt64(c - 0x61 + 10)
                case 0x41...0x46: d = UInt64(c - 0x41 + 10)
                default: return nil
                }
                if digits >= 16 { return nil }
                v = v << 4 | d
                digits += 1
                i += 1
            }
            guard digits > 0, i < end else { return nil }
            i += 1  // the stop byte
            return v
        }
        func decField() -> UInt64? {
            var v: UInt64 = 0
            var digits = 0
            while i < end, line[i] >= 0x30, line[i] <= 0x39 {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(line[i] - 0x30))
                if o1 || o2 { return nil }
                v = a
                digits += 1
                i += 1
            }
            return digits > 0 ? v : nil
        }
        guard let start = hexField(stop: UInt8(ascii: "-")), let stop = hexField(stop: UInt8(ascii: " ")) else { return nil }
        guard i + 5 <= end else { return nil }
        let r = line[i] == UInt8(ascii: "r"), w = line[i + 1] == UInt8(ascii: "w"), x = line[i + 2] == UInt8(ascii: "x")
        let s = line[i + 3] == UInt8(ascii: "s")
        i += 4
        guard i < end, line[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        guard let offset = hexField(stop: UInt8(ascii: " ")),
              let major = hexField(stop: UInt8(ascii: ":")), let minor = hexField(stop: UInt8(ascii: " ")),
              let inode = decField() else { return nil }
        while i < end, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: "\t") { i += 1 }
        var path = String(decoding: line[i..<end], as: UTF8.self)
        var deleted = false
        if path.hasSuffix(" (deleted)") {
            deleted = true
            path.removeLast(" (deleted)".count)
        }
        guard start <= stop, major <= UInt64(UInt32.max), minor <= UInt64(UInt32.max) else { return nil }
        return MapEntry(start: start, end: stop, readable: r, writable: w, executable: x, shared: s, offset: offset,
                        devMajor: UInt32(major), devMinor: UInt32(minor), inode: inode, path: path, deleted: deleted)
    }

    static func devMajor(_ dev: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff)))
    }

    static func devMinor(_ dev: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff)))
    }
}

/// A JIT's /tmp/perf-PID.map: lines `START SIZE name` (hex, with or without 0x).
enum PerfMap {
    static func parse(_ bytes: [UInt8]) -> SymbolTable {
        var b = SymbolTableBuilder()
        b.maxImplicitSize = 1  // perf maps carry sizes; a zero size covers its start only
        var lineStart = 0
        let n = bytes.count
        while lineStart < n {
            var lineEnd = lineStart
            while lineEnd < n, bytes[lineEnd] != 0x0a { lineEnd += 1 }
            let line = bytes[lineStart..<lineEnd]
            lineStart = lineEnd + 1
            var i = line.startIndex
            func hexToken() -> UInt64? {
                while i < line.endIndex, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
                if i + 1 < line.endIndex, line[i] == 0x30, line[i + 1] == UInt8(ascii: "x") || line[i + 1] == UInt8(ascii: "X") { i += 2 }
                var v: UInt64 = 0
                var digits = 0
                while i < line.endIndex, line[i] != 0x20, line[i] != 0x09 {
                    guard let d = hexDigit(line[i]), digits < 16 else { return nil }
                    v = v << 4 | UInt64(d)
                    digits += 1
                    i += 1
                }
                return digits > 0 ? v : nil
            }
            guard let start = hexToken(), let size = hexToken() else { continue }
            while i < line.endIndex, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
            var nameEnd = line.endIndex
            while nameEnd > i, line[nameEnd - 1] == 0x0d || line[nameEnd - 1] == 0x20 { nameEnd -= 1 }
            guard nameEnd > i else { continue }
            let name = Array(line[i..<nameEnd])
            b.add(start: start, size: size, sectionEnd: 0, rank: 0, name: name, nameOffset: 0, nameLength: name.count)
        }
        return b.build()
    }

    static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
