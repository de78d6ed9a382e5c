/// Text helpers for the SVG: escaping, names, numbers. Standard library only, locale-free, so the
/// output is the same everywhere.
enum FlamegraphText {
    /// `text` safe in XML character data and in double- or single-quoted attributes. Characters XML 1.0
    /// forbids (C0 controls other than tab and line breaks, U+FFFE, U+FFFF) become U+FFFD.
    static func escape(_ text: String) -> String {
        var needsWork = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"),
                 0..<0x20, 0xEF: // 0xEF: lead byte of U+FFFE/U+FFFF, checked below
                needsWork = true
            default: continue
            }
            break
        }
        guard needsWork else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A frame name fit for one line: control characters and line breaks become spaces (the script
    /// takes the name from the first line of the frame's <title>); empty becomes "[unknown]".
    static func frameName(_ name: String) -> String {
        guard name.unicodeScalars.contains(where: isBreaking) else {
            return name.isEmpty ? FoldedWriter.unknownFrame : name
        }
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars { scalars.append(isBreaking(scalar) ? " " : scalar) }
        return String(scalars)
    }

    private static func isBreaking(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x85 || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// `x` with at most `decimals` decimals, no trailing zeros: 10, 10.5, 10.25, -3.
    static func number(_ x: Double, decimals: Int = 2) -> String {
        guard x.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (x * scale).rounded()
        let negative = scaled < 0
        var units = UInt64(abs(scaled))
        let pow = UInt64(scale)
        let integer = units / pow
        units %= pow
        var text = (negative && (integer > 0 || units > 0) ? "-" : "") + String(integer)
        if units > 0 {
            var fraction = String(units)
            while fraction.count < decimals { fraction = "0" + fraction }
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text
    }

    /// `name` cut to what fits in `width` px at `charWidth` px a character ("ab.." when cut);
    /// empty when fewer than 3 characters fit.
    static func label(_ name: String, width: Double, charWidth: Double) -> String {
        let fit = Int(((width - 6) / charWidth).rounded(.down))
        if fit < 3 { return "" }
        if name.count <= fit { return name }
        return String(name.prefix(fit - 2)) + ".."
    }

    /// `text` cut to `limit` characters with "...".
    static func truncate(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(max(0, limit - 3))) + "..."
    }
}
