/// Human-readable durations and shares, standard library only, for tables and messages.
public enum DurationFormat {
    /// The longest string `format(ns:)` returns for any duration under 273 years.
    public static let maxWidth = 6

    /// `ns` with three significant digits and a unit: "0", "999ns", "12.3µs", "456ms", "1.23s",
    /// "999s"; from 999.5 s on whole seconds ("1234s", "99999s"), then whole hours ("28h",
    /// "99999h"), then whole days ("4167d"). Never longer than `maxWidth` characters below 273 years.
    public static func format(ns: UInt64) -> String {
        if ns == 0 { return "0" }
        if ns < 1_000 { return "\(ns)ns" }
        let second: UInt64 = 1_000_000_000
        if ns >= 999_500_000_000 { // would round to 1000 s or more
            for unit in [(second, "s"), (3_600 * second, "h"), (86_400 * second, "d")] {
                let whole = ns / unit.0 + (ns % unit.0 >= unit.0 / 2 ? 1 : 0)
                if whole <= 99_999 || unit.1 == "d" { return "\(whole)\(unit.1)" }
            }
        }
        // Round to three significant digits: mantissa in 100...999 times 10^exponent.
        var digits = 0
        var rest = ns
        while rest > 0 { digits += 1; rest /= 10 }
        var exponent = digits - 3
        let scale = pow10(exponent)
        var mantissa = ns / scale + (ns % scale >= scale / 2 ? 1 : 0)
        if mantissa == 1_000 { mantissa = 100; exponent += 1 }
        // Unit: ns, µs, ms or s, by the exponent of the leading digit.
        let lead = exponent + 2
        let unitIndex = min(lead / 3, 3)
        let unit = ["ns", "µs", "ms", "s"][unitIndex]
        let decimals = 3 * unitIndex - exponent // 0, 1 or 2
        return decimalString(mantissa, decimals: decimals) + unit
    }

    /// `part` as a percentage of `whole` with one decimal: "100.0%" (all of it), "42.5%", "0.0%"
    /// (zero part), "<0.1%" and ">99.9%" (a share that would round to 0.0% or 100.0% without
    /// being nothing or everything), ">100%" (a part above the whole, which
    /// a sound report never has), "-" when `whole` is zero. Never longer than 6 characters.
    public static func percent(_ part: UInt64, of whole: UInt64) -> String {
        if whole == 0 { return "-" }
        if part == 0 { return "0.0%" }
        if part > whole { return ">100%" }
        // Tenths of a percent, rounded: (part * 1000 + whole / 2) / whole, without overflow.
        let (high, low) = part.multipliedFullWidth(by: 1_000)
        let (sumLow, carry) = low.addingReportingOverflow(whole / 2)
        let sumHigh = high + (carry ? 1 : 0)
        let quotient = whole.dividingFullWidth((high: sumHigh, low: sumLow)).quotient
        if quotient == 0 { return "<0.1%" }
        if quotient >= 1_000 && part < whole { return ">99.9%" }
        return decimalString(quotient, decimals: 1) + "%"
    }

    private static func pow10(_ n: Int) -> UInt64 {
        var p: UInt64 = 1
        for _ in 0..<max(n, 0) { p *= 10 }
        return p
    }

    /// `value / 10^decimals` with exactly `decimals` digits after the point.
    private static func decimalString(_ value: UInt64, decimals: Int) -> String {
        guard decimals > 0 else { return "\(value)" }
        let scale = pow10(decimals)
        var fraction = String(value % scale)
        while fraction.count < decimals { fraction = "0" + fraction }
        return "\(value / scale).\(fraction)"
    }
}
