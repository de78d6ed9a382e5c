/// Terminal column arithmetic for the table: display widths, padding, truncation, and making
/// untrusted names (thread comms are chosen by the traced program) safe to print.
public enum TerminalText {
    /// Columns `text` takes on a terminal: East Asian wide characters and most emoji take two,
    /// combining marks and zero-width characters none, everything else one. ANSI colour escapes
    /// (`ESC [ ... m`) take none.
    public static func width(_ text: String) -> Int {
        stripANSI(text).unicodeScalars.reduce(0) { $0 + width(of: $1) }
    }

    /// Removes ANSI colour escapes (`ESC [ ... m`).
    public static func stripANSI(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var inEscape = false
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar == "m" { inEscape = false }
                continue
            }
            if scalar == "\u{1B}" { inEscape = true; continue }
            out.append(scalar)
        }
        return String(out)
    }

    /// `text` safe to print on a terminal: every character that could move the cursor, start an
    /// escape sequence or reorder what follows is replaced by "?". Those are the C0 controls
    /// (ESC, newline, carriage return, backspace, NUL…), DEL, the C1 controls U+0080–U+009F
    /// (U+009B is a one-character CSI on some terminals), the line and paragraph separators,
    /// and the bidirectional controls (U+061C, U+200E, U+200F, the embeddings and overrides
    /// U+202A–U+202E, the isolates U+2066–U+2069: "Trojan Source" reordering). Thread names,
    /// symbol names, lock names and file paths come from the traced programs: every text report
    /// line that shows one passes it through here (docs/report-table.md). Invalid UTF-8 never
    /// reaches this far: names are decoded with U+FFFD for bad bytes.
    public static func sanitize(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { out.append(isUnsafe(scalar) ? "?" : scalar) }
        return String(out)
    }

    /// Whether `sanitize` replaces `scalar`.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value >= 0x20 && scalar.value < 0x7F { return false } // printable ASCII, the common case
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return scalar.properties.isBidiControl
        }
    }

    /// `text` cut to at most `columns` columns, ending in "…" when cut.
    public static func truncate(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        if width(text) <= columns { return text }
        var out = ""
        var used = 0
        for character in text {
            let w = width(String(character))
            if used + w > columns - 1 { break }
            out.append(character)
            used += w
        }
        return out + "…"
    }

    /// `text` right-aligned in `columns` columns (never cut).
    public static func padLeft(_ text: String, to columns: Int) -> String {
        let missing = columns - width(text)
        return missing > 0 ? String(repeating: " ", count: missing) + text : text
    }

    /// `text` left-aligned in `columns` columns (never cut).
    public static func padRight(_ text: String, to columns: Int) -> String {
        let missing = columns - width(text)
        return missing > 0 ? text + String(repeating: " ", count: missing) : text
    }

    private static func width(of scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control:
            return 0
        default:
            break
        }
        if value == 0x200B || (0xFE00...0xFE0F).contains(value) { return 0 }
        if isWide(value) { return 2 }
        return 1
    }

    private static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
            || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v)
            || (0x1F300...0x1F64F).contains(v) || (0x1F900...0x1F9FF).contains(v)
            || (0x20000...0x3FFFD).contains(v)
    }
}
