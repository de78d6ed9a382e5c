import Glibc

/// Demangles Swift (swift_demangle from libswiftCore), C++ (__cxa_demangle from libstdc++),
/// Rust legacy (`_ZN…17h<hash>E`, decoded here, hash dropped) and Rust v0 (`_R…`, decoded here
/// for the common forms; left as is when not understood).
public enum Demangler {
    private typealias SwiftDemangleFn = @convention(c) (
        UnsafePointer<CChar>?, Int, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UInt32
    ) -> UnsafeMutablePointer<CChar>?
    private typealias CxaDemangleFn = @convention(c) (
        UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int32>?
    ) -> UnsafeMutablePointer<CChar>?

    private struct Functions: @unchecked Sendable {
        var swift: SwiftDemangleFn?
        var cxa: CxaDemangleFn?
    }

    private static let functions: Functions = {
        var f = Functions()
        let me = dlopen(nil, RTLD_NOW)
        if let p = dlsym(me, "swift_demangle") {
            f.swift = unsafeBitCast(p, to: SwiftDemangleFn.self)
        }
        var cxa = dlsym(me, "__cxa_demangle")
        if cxa == nil, let h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL) {
            cxa = dlsym(h, "__cxa_demangle")
        }
        if let p = cxa { f.cxa = unsafeBitCast(p, to: CxaDemangleFn.self) }
        return f
    }()

    /// Whether swift_demangle and __cxa_demangle were found in this process.
    public static var hasSwiftDemangler: Bool { functions.swift != nil }
    public static var hasCxxDemangler: Bool { functions.cxa != nil }

    /// Demangles `name` if it looks mangled; returns it unchanged otherwise.
    public static func demangle(_ name: String, style: NameStyle = .full) -> String {
        let u = name.utf8
        guard u.count >= 3 else { return name }
        var it = u.makeIterator()
        let c0 = it.next()!, c1 = it.next()!
        if c0 == UInt8(ascii: "_") && c1 == UInt8(ascii: "Z") {
            if let r = RustLegacy.demangle(name) { return r }
            return cxx(name, style: style) ?? name
        }
        if c0 == UInt8(ascii: "_") && c1 == UInt8(ascii: "R") {
            return RustV0.demangle(name) ?? name
        }
        if isSwiftMangled(name) {
            return swift(name, style: style) ?? name
        }
        return name
    }

    static func isSwiftMangled(_ name: String) -> Bool {
        name.hasPrefix("$s") || name.hasPrefix("$S") || name.hasPrefix("$e") || name.hasPrefix("_$s")
            || name.hasPrefix("_$S") || name.hasPrefix("_T0") || name.hasPrefix("@__swiftmacro_")
    }

    static func swift(_ name: String, style: NameStyle) -> String? {
        guard let fn = functions.swift else { return nil }
        let out: String? = name.withCString { p in
            guard let r = fn(p, strlen(p), nil, nil, 0) else { return nil }
            defer { free(r) }
            return String(cString: r)
        }
        guard let full = out, full != name else { return nil }
        return style == .full ? full : NameSimplifier.swift(full)
    }

    static func cxx(_ name: String, style: NameStyle) -> String? {
        guard let fn = functions.cxa else { return nil }
        var status: Int32 = 0
        let out: String? = name.withCString { p in
            guard let r = fn(p, nil, nil, &status) else { return nil }
            defer { free(r) }
            return status == 0 ? String(cString: r) : nil
        }
        guard let full = out else { return nil }
        return style == .full ? full : NameSimplifier.cxx(full)
    }
}

/// Rust's legacy mangling: `_ZN` {len ident} `17h` 16 hex digits `E`, with `$LT$`-style escapes.
enum RustLegacy {
    static func demangle(_ name: String) -> String? {
        var bytes = Array(name.utf8)
        // Drop LLVM / GCC suffixes like `.llvm.1234`.
        if let dot = findSuffix(bytes) { bytes = Array(bytes[..<dot]) }
        guard bytes.count > 4, bytes[0] == UInt8(ascii: "_"), bytes[1] == UInt8(ascii: "Z"), bytes[2] == UInt8(ascii: "N"),
              bytes.last == UInt8(ascii: "E") else { return nil }
        var i = 3
        var parts: [String] = []
        while i < bytes.count - 1 {
            var len = 0
            var digits = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                len = len * 10 + Int(bytes[i] - 0x30)
                i += 1
                digits += 1
                if len > 1 << 16 { return nil }
            }
            guard digits > 0, len > 0, i + len <= bytes.count - 1 else { return nil }
            parts.append(String(decoding: bytes[i..<(i + len)], as: UTF8.self))
            i += len
        }
        guard i == bytes.count - 1, let last = parts.last, isHash(last) else { return nil }
        parts.removeLast()
        guard !parts.isEmpty else { return nil }
        return parts.map(unescape).joined(separator: "::")
    }

    private static func findSuffix(_ b: [UInt8]) -> Int? {
        // ".llvm." or ".cold" etc. after the final E.
        guard let e = b.lastIndex(of: UInt8(ascii: "E")) else { return nil }
        return e + 1 < b.count && b[e + 1] == UInt8(ascii: ".") ? e + 1 : nil
    }

    static func isHash(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 17, u[0] == UInt8(ascii: "h") else { return false }
        return u[1...].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func unescape(_ s: String) -> String {
        var s = Substring(s)
        if s.hasPrefix("_$") { s = s.dropFirst() }
        var out = ""
        var rest = s
        while let c = rest.first {
            if c == "$", let end = rest.dropFirst().firstIndex(of: "$") {
                let code = rest[rest.index(after: rest.startIndex)..<end]
                let rep: String?
                switch code {
                case "SP": rep = "@"
                case "BP": rep = "*"
                case "RF": rep = "&"
                case "LT": rep = "<"
                case "GT": rep = ">"
                case "LP": rep = "("
                case "RP": rep = ")"
                case "C": rep = ","
                default:
                    if code.first == "u", let v = UInt32(code.dropFirst(), radix: 16), let sc = Unicode.Scalar(v) {
                        rep = String(Character(sc))
                    } else {
                        rep = nil
                    }
                }
                if let r = rep {
                    out += r
                    rest = rest[rest.index(after: end)...]
                    continue
                }
            }
            if c == ".", rest.dropFirst().first == "." {
                out += "::"
                rest = rest.dropFirst(2)
                continue
            }
            out.append(c)
            rest = rest.dropFirst()
        }
        return out
    }
}

/// Best-effort shortening of demangled names (NameStyle.noArguments).
enum NameSimplifier {
    /// Drops the parameter list, trailing qualifiers and the return type of a C++ function name:
    /// `int ns::inner::twice<int>(int)` → `ns::inner::twice<int>`.
    static func cxx(_ full: String) -> String {
        var chars = Array(full)
        // Keep GCC clone suffixes like " [clone .cold]" out of the way.
        var suffix = ""
        if let r = full.range(of: " [clone ") {
            suffix = String(full[r.lowerBound...])
            chars = Array(full[..<r.lowerBound])
        }
        // Find the last top-level "(...)": the parameter list.
        var depth = 0
        var paramStart: Int? = nil
        var i = chars.count - 1
        while i >= 0 {
            let c = chars[i]
            if c == ")" || c == ">" || c == "]" || c == "}" {
                if c == ">" && i > 0 && chars[i - 1] == "-" { i -= 1; continue }  // "->"
                depth += 1
            } else if c == "(" || c == "<" || c == "[" || c == "{" {
                depth -= 1
                if depth == 0 && c == "(" {
                    // Not "(anonymous namespace)" and not an operator's own parens.
                    let before = String(chars[..<i])
                    if !before.hasSuffix("operator") && !String(chars[i...]).hasPrefix("(anonymous namespace)") {
                        paramStart = i
                        break
                    }
                }
                if depth < 0 { break }
            }
            i -= 1
        }
        guard let ps = paramStart else { return full }
        var name = Array(chars[..<ps])
        // Drop a return type: the text before the last top-level space (not inside "operator …").
        depth = 0
        var cut: Int? = nil
        for (k, c) in name.enumerated() {
            switch c {
            case "(", "<", "[", "{": depth += 1
            case ")", ">", "]", "}": depth -= 1
            case " " where depth == 0: cut = k
            default: break
            }
        }
        if let c = cut {
            let tail = String(name[(c + 1)...])
            let head = String(name[..<c])
            if !head.hasSuffix("operator") && !tail.isEmpty {
                name = Array(tail)
            }
        }
        return String(name) + suffix
    }

    /// Swift: `Fixture.Worker.deepWork(count: Swift.Int) -> Swift.Int` → `Fixture.Worker.deepWork(count:)`.
    /// Argument lists become their labels (`_:` when unlabeled), ` -> T` return types are dropped,
    /// closure signatures go (`closure #1 (Swift.Int) -> () in f()` → `closure #1 in f()`), and so
    /// do accessor and property types (`x.getter : Swift.Int` → `x.getter`).
    static func swift(_ full: String) -> String {
        let c = Array(dropTypeAnnotation(full))
        var out = ""
        var i = 0
        while i < c.count {
            let ch = c[i]
            if ch == "(" {
                let prev: Character? = i > 0 ? c[i - 1] : nil
                let isCall = prev.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ">" || $0 == "`" } ?? false
                let isSpaced = prev == " "
                if isCall || isSpaced {
                    guard let j = matchingParen(c, from: i) else { out.append(contentsOf: c[i...]); break }
                    let after = j + 1
                    let tail = String(c[after...])
                    let isSignature = tail.hasPrefix(" ->") || tail.hasPrefix(" async") || tail.hasPrefix(" throws")
                    if isCall {
                        out += "(" + labels(String(c[(i + 1)..<j])) + ")"
                        i = after
                    } else if isSignature {
                        // A function type after "closure #1 ": drop it with its result, keep " in …".
                        i = after
                        if out.hasSuffix(" ") { out.removeLast() }
                    } else {
                        out.append(ch)
                        i += 1
                        continue
                    }
                    if isSignature || isCall {
                        // Drop " -> ReturnType" (and "async", "throws") up to " in " or the end.
                        var k = i
                        while k < c.count, c[k] == " " { k += 1 }
                        let restStr = String(c[k...])
                        if restStr.hasPrefix("->") || restStr.hasPrefix("async") || restStr.hasPrefix("throws") {
                            if let r = restStr.range(of: " in ") {
                                i = k + restStr.distance(from: restStr.startIndex, to: r.lowerBound)
                            } else {
                                i = c.count
                            }
                        }
                    }
                    continue
                }
            }
            out.append(ch)
            i += 1
        }
        return out
    }

    private static func matchingParen(_ c: [Character], from i: Int) -> Int? {
        var depth = 0
        var j = i
        while j < c.count {
            if c[j] == "(" || c[j] == "<" || c[j] == "[" { depth += 1 }
            if c[j] == ")" || c[j] == "]" || (c[j] == ">" && !(j > 0 && c[j - 1] == "-")) { depth -= 1 }
            if depth == 0 { return j }
            j += 1
        }
        return nil
    }

    /// `Foo.x.getter : Swift.Int` → `Foo.x.getter`; keeps conformances (`T : P in Module`).
    private static func dropTypeAnnotation(_ s: String) -> String {
        let c = Array(s)
        var depth = 0
        var last: Int? = nil
        var k = 0
        while k < c.count {
            switch c[k] {
            case "(", "<", "[": depth += 1
            case ")", "]": depth -= 1
            case ">" where !(k > 0 && c[k - 1] == "-"): depth -= 1
            case ":" where depth == 0 && k > 0 && c[k - 1] == " " && k + 1 < c.count && c[k + 1] == " ": last = k - 1
            default: break
            }
            k += 1
        }
        guard let cut = last else { return s }
        let tail = String(c[cut...])
        if tail.contains(" in ") { return s }
        return String(c[..<cut])
    }

    private static func labels(_ args: String) -> String {
        if args.isEmpty { return "" }
        // Split on top-level commas.
        var parts: [String] = []
        var depth = 0
        var cur = ""
        let a = Array(args)
        for (k, ch) in a.enumerated() {
            if ch == "(" || ch == "<" || ch == "[" { depth += 1 }
            if ch == ")" || ch == "]" || (ch == ">" && !(k > 0 && a[k - 1] == "-")) { depth -= 1 }
            if ch == "," && depth == 0 {
                parts.append(cur)
                cur = ""
                continue
            }
            cur.append(ch)
        }
        parts.append(cur)
        return parts.map { p -> String in
            let t = p.trimming(" ")
            if let colon = t.firstIndex(of: ":"), t[t.index(after: colon)...].first == " ",
               t[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                return String(t[..<colon]) + ":"
            }
            return "_:"
        }.joined()
    }
}

extension String {
    func trimming(_ c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s = s.dropFirst() }
        while s.last == c { s = s.dropLast() }
        return String(s)
    }
}
