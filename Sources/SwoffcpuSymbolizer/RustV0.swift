/// Rust v0 symbol mangling (`_R…`), decoded to a readable path such as
/// `mycrate::module::Type<u32>::method` or `<mycrate::S as core::fmt::Debug>::fmt`.
/// Crate disambiguators and hashes are not printed. Punycode identifiers are shown raw.
/// Returns nil (caller keeps the mangled name) on anything it does not understand.
enum RustV0 {
    private struct Fail: Error {}

    private struct Parser {
        let s: [UInt8]
        var pos = 0
        var depth = 0
        var out = ""

        init(_ s: [UInt8]) { self.s = s }

        mutating func peek() -> UInt8? { pos < s.count ? s[pos] : nil }

        mutating func eat(_ c: Character) -> Bool {
            if pos < s.count, s[pos] == c.asciiValue! { pos += 1; return true }
            return false
        }

        mutating func next() throws -> UInt8 {
            guard pos < s.count else { throw Fail() }
            defer { pos += 1 }
            return s[pos]
        }

        mutating func enter() throws {
            depth += 1
            if depth > 100 || out.utf8.count > 4096 { throw Fail() }
        }

        mutating func base62() throws -> UInt64 {
            if eat("_") { return 0 }
            var v: UInt64 = 0
            while true {
                let c = try next()
                if c == UInt8(ascii: "_") { break }
                let d: UInt64
                switch c {
                case 0x30...0x39: d = UInt64(c - 0x30)
                case 0x61...0x7a: d = UInt64(c - 0x61) + 10
                case 0x41...0x5a: d = UInt64(c - 0x41) + 36
                default: throw Fail()
                }
                let (m, o1) = v.multipliedReportingOverflow(by: 62)
                let (a, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { throw Fail() }
                v = a
            }
            let (r, o) = v.addingReportingOverflow(1)
            if o { throw Fail() }
            return r
        }

        mutating func disambiguator() throws -> UInt64 {
            eat("s") ? try base62() + 1 : 0
        }

        mutating func decimal() throws -> Int {
            var v = 0
            var n = 0
            while let c = peek(), c >= 0x30, c <= 0x39 {
                v = v * 10 + Int(c - 0x30)
                pos += 1
                n += 1
                if v > 1 << 20 { throw Fail() }
            }
            if n == 0 { throw Fail() }
            return v
        }

        mutating func ident() throws -> String {
            let puny = eat("u")
            let len = try decimal()
            _ = eat("_")
            guard pos + len <= s.count else { throw Fail() }
            let str = String(decoding: s[pos..<(pos + len)], as: UTF8.self)
            pos += len
            return puny ? "punycode{\(str)}" : str
        }

        mutating func backref(_ body: (inout Parser) throws -> Void) throws {
            let target = try base62()
            guard target < UInt64(pos) else { throw Fail() }
            let saved = pos
            pos = Int(target)
            try enter()
            try body(&self)
            depth -= 1
            pos = saved
        }

        mutating func path(inValue: Bool) throws {
            try enter()
            defer { depth -= 1 }
            let tag = try next()
            switch tag {
            case UInt8(ascii: "C"):
                _ = try disambiguator()
                out += try ident()
            case UInt8(ascii: "M"):
                _ = try disambiguator()
                try skipPath()
                out += "<"
                try type()
                out += ">"
            case UInt8(ascii: "X"):
                _ = try disambiguator()
                try skipPath()
                out += "<"
                try type()
                out += " as "
                try path(inValue: false)
                out += ">"
            case UInt8(ascii: "Y"):
                out += "<"
                try type()
                out += " as "
                try path(inValue: false)
                out += ">"
            case UInt8(ascii: "N"):
                let ns = try next()
                try path(inValue: inValue)
                let dis = try disambiguator()
                let name = try ident()
                if ns >= UInt8(ascii: "A") && ns <= UInt8(ascii: "Z") {
                    let kind = ns == UInt8(ascii: "C") ? "closure" : (ns == UInt8(ascii: "S") ? "shim" : String(UnicodeScalar(ns)))
                    out += "::{\(kind)"
                    if !name.isEmpty { out += ":\(name)" }
                    out += "#\(dis)}"
                } else {
                    out += "::" + name
                }
            case UInt8(ascii: "I"):
                try path(inValue: inValue)
                out += inValue ? "::<" : "<"
                var first = true
                while !eat("E") {
                    if !first { out += ", " }
                    first = false
                    try genericArg()
                }
                out += ">"
            case UInt8(ascii: "B"):
                try backref { try $0.path(inValue: inValue) }
            default:
                throw Fail()
            }
        }

        /// Parses an impl-path without printing it (we print the self type instead).
        mutating func skipPath() throws {
            let saved = out
            try path(inValue: false)
            out = saved
        }

        mutating func genericArg() throws {
            if eat("L") { _ = try base62(); out += "'_"; return }
            if eat("K") { try const(); return }
            try type()
        }

        mutating func const() throws {
            try enter()
            defer { depth -= 1 }
            if eat("p") { out += "_"; return }
            if eat("B") { try backref { try $0.const() }; return }
            let t = try next()  // the const's type, a basic type letter
            let neg = eat("n")
            var hexDigits = ""
            while true {
                let c = try next()
                if c == UInt8(ascii: "_") { break }
                hexDigits.append(Character(UnicodeScalar(c)))
            }
            if t == UInt8(ascii: "b") {
                out += hexDigits == "1" ? "true" : "false"
            } else if let v = UInt64(hexDigits.isEmpty ? "0" : hexDigits, radix: 16) {
                out += (neg ? "-" : "") + String(v)
            } else {
                out += "0x" + hexDigits
            }
        }

        mutating func type() throws {
            try enter()
            defer { depth -= 1 }
            guard let c = peek() else { throw Fail() }
            if let basic = RustV0.basicTypes[c] {
                pos += 1
                out += basic
                return
            }
            pos += 1
            switch c {
            case UInt8(ascii: "A"):
                out += "["
                try type()
                out += "; "
                try const()
                out += "]"
            case UInt8(ascii: "S"):
                out += "["
                try type()
                out += "]"
            case UInt8(ascii: "R"), UInt8(ascii: "Q"):
                out += c == UInt8(ascii: "R") ? "&" : "&mut "
                if eat("L") { _ = try base62() }
                try type()
            case UInt8(ascii: "P"):
                out += "*const "
                try type()
            case UInt8(ascii: "O"):
                out += "*mut "
                try type()
            case UInt8(ascii: "T"):
                out += "("
                var n = 0
                while !eat("E") {
                    if n > 0 { out += ", " }
                    try type()
                    n += 1
                }
                if n == 1 { out += "," }
                out += ")"
            case UInt8(ascii: "F"):
                if eat("G") { _ = try base62() }
                if eat("U") { out += "unsafe " }
                if eat("K") {
                    if eat("C") { out += "extern \"C\" " } else { out += "extern \"\(try ident())\" " }
                }
                out += "fn("
                var n = 0
                while !eat("E") {
                    if n > 0 { out += ", " }
                    try type()
                    n += 1
                }
                out += ")"
                if peek() == UInt8(ascii: "u") {
                    pos += 1
                } else {
                    out += " -> "
                    try type()
                }
            case UInt8(ascii: "D"):
                out += "dyn "
                if eat("G") { _ = try base62() }
                var n = 0
                while !eat("E") {
                    if n > 0 { out += " + " }
                    try path(inValue: false)
                    while eat("p") {
                        out += "<\(try ident()) = "
                        try type()
                        out += ">"
                    }
                    n += 1
                }
                guard eat("L") else { throw Fail() }
                _ = try base62()
            case UInt8(ascii: "B"):
                try backref { try $0.type() }
            default:
                pos -= 1
                try path(inValue: false)
            }
        }
    }

    static let basicTypes: [UInt8: String] = [
        UInt8(ascii: "a"): "i8", UInt8(ascii: "b"): "bool", UInt8(ascii: "c"): "char", UInt8(ascii: "d"): "f64",
        UInt8(ascii: "e"): "str", UInt8(ascii: "f"): "f32", UInt8(ascii: "h"): "u8", UInt8(ascii: "i"): "isize",
        UInt8(ascii: "j"): "usize", UInt8(ascii: "l"): "i32", UInt8(ascii: "m"): "u32", UInt8(ascii: "n"): "i128",
        UInt8(ascii: "o"): "u128", UInt8(ascii: "s"): "i16", UInt8(ascii: "t"): "u16", UInt8(ascii: "u"): "()",
        UInt8(ascii: "v"): "...", UInt8(ascii: "x"): "i64", UInt8(ascii: "y"): "u64", UInt8(ascii: "z"): "!",
        UInt8(ascii: "p"): "_",
    ]

    static func demangle(_ name: String) -> String? {
        var b = Array(name.utf8)
        guard b.count > 2, b[0] == UInt8(ascii: "_"), b[1] == UInt8(ascii: "R") else { return nil }
        if let dot = b.firstIndex(of: UInt8(ascii: ".")) { b = Array(b[..<dot]) }  // .llvm.NNN
        var p = Parser(Array(b[2...]))
        do {
            if let c = p.peek(), c >= 0x30, c <= 0x39 { _ = try p.decimal() }  // encoding version
            try p.path(inValue: true)
            // An instantiating crate may follow; ignore it.
            return p.out.isEmpty ? nil : p.out
        } catch {
            return nil
        }
    }
}
