import Testing
import SwoffcpuCore
import SwoffcpuTestSupport

@Suite("DurationFormat")
struct DurationFormatTests {
    /// Checks that durations get three significant digits and the right unit, with rounding that
    /// carries into the next unit.
    @Test(arguments: [
        (UInt64(0), "0"), (1, "1ns"), (999, "999ns"), (1_000, "1.00µs"), (1_234, "1.23µs"),
        (1_235, "1.24µs"), (12_345, "12.3µs"), (123_456, "123µs"), (999_499, "999µs"),
        (999_500, "1.00ms"), (456_000_000, "456ms"), (1_230_000_000, "1.23s"), (12_300_000_000, "12.3s"),
        (999_499_999_999, "999s"), (999_500_000_000, "1000s"), (86_400_000_000_000, "86400s"),
        (99_999_499_999_999, "99999s"), (99_999_500_000_000, "28h"),
        (359_998_199_999_999_999, "99999h"), (359_998_200_000_000_000, "4167d"),
        (UInt64.max, "213504d"),
    ])
    func format(ns: UInt64, expected: String) {
        #expect(DurationFormat.format(ns: ns) == expected)
    }

    /// Checks that no duration below 273 years is longer than `maxWidth` characters.
    @Test func widthBound() {
        let limit: UInt64 = 273 * 365 * 86_400 * 1_000_000_000
        var ns: UInt64 = 1
        while ns < limit {
            for m: UInt64 in [1, 2, 5, 9, 10] {
                let (v, overflow) = ns.multipliedReportingOverflow(by: m)
                if overflow || v >= limit { continue }
                #expect(DurationFormat.format(ns: v).count <= DurationFormat.maxWidth, "\(v)")
                #expect(DurationFormat.format(ns: v - 1).count <= DurationFormat.maxWidth, "\(v - 1)")
            }
            ns *= 10
        }
        for edge: UInt64 in [99_999_499_999_999, 99_999_500_000_000, 359_998_199_999_999_999,
                             359_998_200_000_000_000, 359_998_200_000_000_001, limit - 1] {
            #expect(DurationFormat.format(ns: edge).count <= DurationFormat.maxWidth, "\(edge)")
        }
    }

    /// Checks percentages: one decimal, "<0.1%" for tiny nonzero shares, ">99.9%" for all but a
    /// sliver, "-" for an empty whole,
    /// and no overflow on huge values.
    @Test(arguments: [
        (UInt64(0), UInt64(100), "0.0%"), (100, 100, "100.0%"), (1, 3, "33.3%"), (2, 3, "66.7%"),
        (1, 10_000, "<0.1%"), (999, 1_000, "99.9%"), (9_999, 10_000, ">99.9%"), (5, 10_000, "0.1%"), (1, 0, "-"), (2, 1, ">100%"),
        (UInt64.max / 2, UInt64.max, "50.0%"), (UInt64.max - 1, UInt64.max, ">99.9%"), (UInt64.max, UInt64.max, "100.0%"),
    ])
    func percent(part: UInt64, whole: UInt64, expected: String) {
        #expect(DurationFormat.percent(part, of: whole) == expected)
        #expect(expected.count <= 6)
    }
}
