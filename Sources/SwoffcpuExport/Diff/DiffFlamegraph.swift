import SwoffcpuCore

/// How a differential flame graph colours its frames, Brendan Gregg's convention
/// (difffolded.pl, flamegraph.pl): frames are as wide as their time in the second run
/// (after); red where the time grew since the first (before), blue where it shrank, the
/// deeper the colour the larger the change against the largest one; white: unchanged.
/// Frames only in the first run have no width: the table names them.
public struct FlamegraphDifferential: Sendable {
    /// Before and after (ns) by frame path, root first, joined with `;` (`StackDiff.prefixSums`).
    public var sums: [String: (before: Double, after: Double)]
    /// The largest change of any frame: the deepest colour.
    public var maxDelta: Double

    public init(_ diff: StackDiff) {
        sums = diff.prefixSums
        maxDelta = sums.values.reduce(0) { max($0, abs($1.after - $1.before)) }
    }

    public static let grew = "rgb(255,60,60)"
    public static let shrank = "rgb(60,60,255)"

    var legend: [(swatch: String, text: String)] {
        [(Self.grew, "red: grew"), (Self.shrank, "blue: shrank"), ("rgb(255,255,255)", "white: unchanged (width: after)")]
    }

    /// The fill and the tooltip's words for the frame at `path`.
    func change(path: String) -> (fill: String, details: String)? {
        guard let s = sums[path] else { return nil }
        let delta = s.after - s.before
        let ratio = maxDelta > 0 ? min(1, abs(delta) / maxDelta) : 0
        let pale = Int((210 * (1 - ratio)).rounded()) + 45 * (ratio == 0 ? 1 : 0)
        let fill = delta > 0 ? "rgb(255,\(pale),\(pale))" : delta < 0 ? "rgb(\(pale),\(pale),255)" : "rgb(255,255,255)"
        let sign = delta >= 0 ? "+" : "-"
        var details = "before \(DiffTable.time(s.before)), after \(DiffTable.time(s.after)), \(sign)\(DiffTable.time(abs(delta)))"
        if s.before > 0 {
            let p = Int((100 * delta / s.before).rounded())
            details += " (\(p >= 0 ? "+" : "")\(p)%)"
        } else {
            details += " (new)"
        }
        return (fill, details)
    }
}

/// The differential flame graph of a `StackDiff`.
public struct DiffFlamegraph: Sendable {
    public var title: String
    public var subtitle: String?

    public init(title: String = "Differential flame graph", subtitle: String? = nil) {
        self.title = title
        self.subtitle = subtitle
    }

    public func render(_ diff: StackDiff) -> String {
        var writer = FlamegraphWriter(options: FlamegraphOptions(title: title, subtitle: subtitle, unit: .nanoseconds))
        writer.differential = FlamegraphDifferential(diff)
        let stacks = diff.lines.map { (frames: $0.frames, value: UInt64(max(0, $0.after.rounded()))) }
        return writer.render(stacks: stacks)
    }
}
