/// A JSON value whose objects keep their keys in insertion order, so output is deterministic and
/// written in a documented order. Integers are kept exact (64-bit, signed or unsigned).
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
    /// JSON text written piece by piece as the document is written (see `JSONSection`): for
    /// sections of hundreds of thousands of items, faster than a tree of values and never held
    /// whole. Not re-indented.
    case section(JSONSection)

    /// Text of the value: compact (no whitespace), or pretty (two-space indent, one member a line).
    public func serialized(pretty: Bool = false) -> String {
        String(decoding: bytes(pretty: pretty), as: UTF8.self)
    }

    /// `serialized`, as UTF-8 bytes.
    public func bytes(pretty: Bool = false) -> [UInt8] {
        var all: [UInt8] = []
        write(pretty: pretty) { all += $0 }
        return all
    }

    /// `serialized`, as UTF-8 bytes handed to `body` in pieces, in order: sections as they
    /// are written, not gathered into a document-sized buffer.
    public func write(pretty: Bool = false, to body: ([UInt8]) throws -> Void) rethrows {
        var out: [UInt8] = []
        try write(to: &out, pretty: pretty, indent: 0, flush: body)
        if !out.isEmpty { try body(out) }
    }

    /// Bytes gathered in `out` go to `flush` before each section and whenever they pass 1 MB.
    private func write(to out: inout [UInt8], pretty: Bool, indent: Int, flush: ([UInt8]) throws -> Void) rethrows {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .uint(let u): out.appendDecimal(u)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .section(let section):
            try flush(out)
            out.removeAll(keepingCapacity: true)
            let next = section.start()
            var text = JSONText()
            var more = true
            while more {
                more = next(&text)
                try flush(text.take())
            }
        case .array(let items):
            if items.isEmpty { out += "[]".utf8; return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.newline(&out, indent: indent + 1) }
                try item.write(to: &out, pretty: pretty, indent: indent + 1, flush: flush)
                if out.count >= 1 << 20 {
                    try flush(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
            if pretty { JSONValue.newline(&out, indent: indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.members.isEmpty { out += "{}".utf8; return }
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.newline(&out, indent: indent + 1) }
                JSONValue.writeString(member.key, to: &out)
                out += (pretty ? ": " : ":").utf8
                try member.value.write(to: &out, pretty: pretty, indent: indent + 1, flush: flush)
            }
            if pretty { JSONValue.newline(&out, indent: indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], indent level: Int) {
        out.append(UInt8(ascii: "\n"))
        out += repeatElement(UInt8(ascii: " "), count: 2 * level)
    }

    /// A JSON string literal (RFC 8259): quote, backslash and control characters escaped. Beyond
    /// what RFC 8259 asks (C0), DEL, the C1 controls (U+009B is a one-character CSI on some
    /// terminals) and U+2028/U+2029 (line breaks to JavaScript and some editors) are written as
    /// `\u` escapes too, so a JSON file printed on a terminal shows a traced program's names
    /// inert. Swift strings hold no lone surrogates, and names decoded from the kernel or files
    /// have U+FFFD for invalid UTF-8: the output is always valid UTF-8.
    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // DEL is 0x7F; the C1 controls are C2 80…C2 9F; U+2028/U+2029 E2 80 A8/A9.
        if s.utf8.contains(where: { $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }) {
            for scalar in s.unicodeScalars {
                switch scalar.value {
                case 0..<0x7F: writeASCII(UInt8(scalar.value), to: &out)
                case 0x7F...0x9F, 0x2028, 0x2029: writeUnicodeEscape(scalar.value, to: &out)
                default: out += String(scalar).utf8
                }
            }
        } else {
            for byte in s.utf8 { writeASCII(byte, to: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// One byte of a string literal: ASCII escaped as needed, any other byte (of a UTF-8
    /// sequence) as is.
    @inline(__always)
    private static func writeASCII(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out += #"\""#.utf8
        case UInt8(ascii: "\\"): out += #"\\"#.utf8
        case UInt8(ascii: "\n"): out += #"\n"#.utf8
        case UInt8(ascii: "\r"): out += #"\r"#.utf8
        case UInt8(ascii: "\t"): out += #"\t"#.utf8
        case 0x08: out += #"\b"#.utf8
        case 0x0C: out += #"\f"#.utf8
        case 0..<0x20: writeUnicodeEscape(UInt32(byte), to: &out)
        default: out.append(byte)
        }
    }

    private static func writeUnicodeEscape(_ value: UInt32, to out: inout [UInt8]) {
        let hex = String(value, radix: 16)
        out += ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8
    }
}

/// A section of a JSON document written in pieces as the document is written: `start` is
/// called then, and the writer it returns is called with the same `JSONText` until it returns
/// false, each piece taken from it and handed on. What it writes must be one valid JSON value.
public struct JSONSection: Sendable, Equatable {
    let start: @Sendable () -> (inout JSONText) -> Bool
    private let identity = Identity()

    public init(pieces start: @escaping @Sendable () -> (inout JSONText) -> Bool) {
        self.start = start
    }

    /// A section written in one piece.
    public init(_ write: @escaping @Sendable (inout JSONText) -> Void) {
        self.init(pieces: { { text in write(&text); return false } })
    }

    /// Sections are equal when they are the same section.
    public static func == (a: JSONSection, b: JSONSection) -> Bool { a.identity === b.identity }

    private final class Identity: Sendable {}
}

/// A JSON object with ordered keys. Setting an existing key replaces its value in place.
public struct JSONObject: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var members: [Member] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (key, value) in elements { self[key] = value }
    }

    public subscript(key: String) -> JSONValue? {
        get { members.first { $0.key == key }?.value }
        set {
            let index = members.firstIndex { $0.key == key }
            switch (index, newValue) {
            case let (i?, value?): members[i].value = value
            case let (i?, nil): members.remove(at: i)
            case let (nil, value?): members.append(Member(key: key, value: value))
            case (nil, nil): break
            }
        }
    }

    public var keys: [String] { members.map(\.key) }
}
