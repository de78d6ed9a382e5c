import SwoffcpuCore

/// One line of a folded-stacks file: frames root first and its count.
public struct FoldedStack: Sendable, Hashable {
    /// Frames, root first. Never empty, no frame empty or containing `;` or a line break.
    public var frames: [String]
    /// The count: in swoffcpu's files, time in `FoldedTimeUnit` units (microseconds by default).
    public var value: UInt64
    /// The second count of a differential line (`stack COUNT1 COUNT2`), as difffolded.pl writes
    /// them; `nil` for ordinary lines. When present, `value` holds COUNT1.
    public var secondValue: UInt64?

    public init(frames: [String], value: UInt64, secondValue: UInt64? = nil) {
        self.frames = frames
        self.value = value
        self.secondValue = secondValue
    }

    /// The line without its terminating newline: `a;b;c 123` (or `a;b;c 123 456`).
    public var line: String {
        var text = frames.joined(separator: ";")
        text += " \(value)"
        if let secondValue { text += " \(secondValue)" }
        return text
    }
}

/// The unit of the counts swoffcpu writes in folded files.
public enum FoldedTimeUnit: String, Sendable, CaseIterable {
    case nanoseconds = "ns"
    case microseconds = "us"
    case milliseconds = "ms"

    /// Nanoseconds in one unit.
    public var nanoseconds: UInt64 {
        switch self {
        case .nanoseconds: 1
        case .microseconds: 1_000
        case .milliseconds: 1_000_000
        }
    }

    /// `ns` in this unit, rounded half up (1499 ns -> 1 µs, 1500 ns -> 2 µs).
    public func value(fromNanoseconds ns: UInt64) -> UInt64 {
        let unit = nanoseconds
        return ns / unit + (unit > 1 && ns % unit >= (unit + 1) / 2 ? 1 : 0)
    }
}
