import Foundation
import SwoffcpuCore

/// Writes `StackSample`s as folded stacks, the text format of Brendan Gregg's
/// stackcollapse/flamegraph.pl and of inferno: one line per distinct stack,
/// `frame;frame;…;frame COUNT`, root first. See docs/folded-format.md.
///
/// A line's frames are: the state name (`on-cpu`, `runnable`, `sleep`, `sleep-d`, `blocked`);
/// `comm-TID` if `Options.includeThread`; user frames outermost to leaf; kernel frames outermost
/// to leaf, each with the suffix `_[k]`. Samples with the same frames are summed in nanoseconds,
/// then each line is rounded once to `Options.unit`. Lines are sorted by their bytes (as
/// `LC_ALL=C sort` would), so equal inputs give byte-identical files.
public struct FoldedWriter: Sendable {
    public struct Options: Sendable, Equatable {
        /// Add a `comm-TID` frame under the state root.
        public var includeThread: Bool
        /// Unit of the counts. Microseconds by default.
        public var unit: FoldedTimeUnit
        /// Keep lines whose count rounds to zero (written as `… 0`). Off by default: such a line
        /// draws nothing, and its time (under half a unit) is reported in `FoldedSummary.droppedNs`.
        public var keepZeroLines: Bool

        public init(includeThread: Bool = false, unit: FoldedTimeUnit = .microseconds,
                    keepZeroLines: Bool = false) {
            self.includeThread = includeThread
            self.unit = unit
            self.keepZeroLines = keepZeroLines
        }
    }

    /// Suffix of kernel frames, as in flamegraph.pl's `--color=...` conventions and perf's folding.
    public static let kernelSuffix = "_[k]"
    /// Stands for an empty frame name (an unresolved address the symbolizer could not name).
    public static let unknownFrame = "[unknown]"

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// The frames of one sample's line, root first, already sanitized.
    public func frames(for sample: StackSample) -> [String] {
        var cache: [String: String] = [:]
        return frames(for: sample, cache: &cache)
    }

    /// `frames(for:)` with sanitized names remembered across samples: big traces repeat the
    /// same few thousand frame names over hundreds of thousands of stacks.
    func frames(for sample: StackSample, cache: inout [String: String]) -> [String] {
        func sanitized(_ name: String) -> String {
            if let known = cache[name] { return known }
            let clean = Self.sanitize(frame: name)
            cache[name] = clean
            return clean
        }
        var frames: [String] = []
        frames.reserveCapacity(2 + sample.userFrames.count + sample.kernelFrames.count)
        frames.append(sample.state.name)
        if options.includeThread {
            frames.append("\(Self.sanitize(frame: sample.comm))-\(sample.tid)")
        }
        for frame in sample.userFrames.reversed() {
            frames.append(sanitized(frame))
        }
        for frame in sample.kernelFrames.reversed() {
            let name = sanitized(frame)
            frames.append(name.hasSuffix(Self.kernelSuffix) ? name : name + Self.kernelSuffix)
        }
        return frames
    }

    /// Merges, rounds and sorts.
    public func fold<S: Sequence>(_ samples: S) -> FoldedResult where S.Element == StackSample {
        var nsByStack: [String: UInt64] = [:]
        var framesByStack: [String: [String]] = [:]
        var cache: [String: String] = [:]
        var summary = FoldedSummary()
        for sample in samples {
            summary.samples += 1
            summary.totalNs = summary.totalNs.addingOrMax(sample.valueNs)
            let frames = frames(for: sample, cache: &cache)
            let key = frames.joined(separator: ";")
            if let ns = nsByStack[key] {
                nsByStack[key] = ns.addingOrMax(sample.valueNs)
            } else {
                nsByStack[key] = sample.valueNs
                framesByStack[key] = frames
            }
        }
        return Self.result(nsByLine: nsByStack, summary: summary, unit: options.unit,
                           keepZeroLines: options.keepZeroLines, frames: framesByStack)
    }

    /// Folded lines from nanoseconds per line (frames joined by `;`): sorted by their bytes
    /// (as `LC_ALL=C sort`), each rounded once to `unit`, zero lines dropped (and counted in
    /// `summary`) unless `keepZeroLines`. Shared by every folded exporter.
    /// `frames`, when given, holds each line's frames (no need to split the line again).
    static func result(nsByLine: [String: UInt64], summary: FoldedSummary, unit: FoldedTimeUnit,
                       keepZeroLines: Bool = false, frames: [String: [String]] = [:]) -> FoldedResult {
        var summary = summary
        let keys = nsByLine.keys.sorted(by: utf8Precedes)
        var stacks: [FoldedStack] = []
        stacks.reserveCapacity(keys.count)
        for key in keys {
            let ns = nsByLine[key]!
            let value = unit.value(fromNanoseconds: ns)
            if value == 0 && !keepZeroLines {
                summary.droppedLines += 1
                summary.droppedNs += ns
                continue
            }
            summary.lines += 1
            summary.writtenNs = summary.writtenNs.addingOrMax(ns)
            summary.valueSum = summary.valueSum.addingOrMax(value)
            stacks.append(FoldedStack(frames: frames[key] ?? key.split(separator: ";", omittingEmptySubsequences: false).map(String.init),
                                      value: value))
        }
        return FoldedResult(stacks: stacks, summary: summary, unit: unit)
    }

    /// The folded text: one line per stack, each ending in `\n`; empty for no stacks.
    public func render<S: Sequence>(_ samples: S) -> String where S.Element == StackSample {
        fold(samples).text
    }

    /// Writes the folded text to `path` atomically (`-` is standard output) and returns what was written.
    @discardableResult
    public func write<S: Sequence>(_ samples: S, to path: String) throws(AtomicFileError) -> FoldedSummary
    where S.Element == StackSample {
        let result = fold(samples)
        try AtomicFile.write(result.text, to: path)
        return result.summary
    }

    /// Makes `name` safe as a folded frame: `;` becomes `:` (as stackcollapse-perf.pl does), line
    /// breaks, tabs and other control characters become spaces, leading and trailing whitespace goes,
    /// a whitespace before a trailing number becomes `_` (else flamegraph.pl would read `f 12 34`
    /// as a differential line), and an empty name becomes `[unknown]`.
    public static func sanitize(frame name: String) -> String {
        func replacement(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
            switch scalar.value {
            case 0x3B: ":"
            case 0..<0x20, 0x7F, 0x85, 0x2028, 0x2029: " "
            default: nil
            }
        }
        var text = name
        if name.unicodeScalars.contains(where: { replacement($0) != nil }) {
            var scalars = String.UnicodeScalarView()
            for scalar in name.unicodeScalars { scalars.append(replacement(scalar) ?? scalar) }
            text = String(scalars)
        }
        text = trimmed(text)
        if text.isEmpty { return unknownFrame }
        return breakTrailingCount(text)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    private static func trimmed(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var start = 0
        var end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        if start == 0 && end == bytes.count { return text }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// `foo 12` -> `foo_12`; `foo 1.5` -> `foo_1.5`: flamegraph.pl takes `\s+\d+(\.\d*)?$` at the end
    /// of the stack part as a first count.
    private static func breakTrailingCount(_ text: String) -> String {
        guard let last = text.utf8.last, isDigit(last) || last == UInt8(ascii: ".") else { return text }
        var bytes = Array(text.utf8)
        var i = bytes.count
        while i > 0 && isDigit(bytes[i - 1]) { i -= 1 }
        if i > 0 && bytes[i - 1] == UInt8(ascii: ".") {
            let dot = i - 1
            var j = dot
            while j > 0 && isDigit(bytes[j - 1]) { j -= 1 }
            guard j < dot else { return text } // "." not preceded by digits: no count
            i = j
        } else if i == bytes.count {
            return text
        }
        guard i > 0 && isSpace(bytes[i - 1]) else { return text }
        bytes[i - 1] = UInt8(ascii: "_")
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}

/// What `FoldedWriter.fold` produced.
public struct FoldedResult: Sendable {
    /// Merged lines, sorted by their bytes.
    public var stacks: [FoldedStack]
    public var summary: FoldedSummary
    public var unit: FoldedTimeUnit

    public init(stacks: [FoldedStack], summary: FoldedSummary, unit: FoldedTimeUnit) {
        self.stacks = stacks
        self.summary = summary
        self.unit = unit
    }

    /// The file's text.
    public var text: String {
        var text = ""
        for stack in stacks {
            text += stack.line
            text += "\n"
        }
        return text
    }
}

/// Accounting of one fold, so that nothing is dropped silently.
public struct FoldedSummary: Sendable, Equatable {
    /// Samples read.
    public var samples = 0
    /// Their time, ns.
    public var totalNs: UInt64 = 0
    /// Lines written.
    public var lines = 0
    /// Time of the lines written, ns (before rounding).
    public var writtenNs: UInt64 = 0
    /// Sum of the counts written, in the writer's unit. Differs from `writtenNs` converted by at most
    /// half a unit per line.
    public var valueSum: UInt64 = 0
    /// Distinct stacks left out because their count rounded to zero.
    public var droppedLines = 0
    /// Their time, ns: under half a unit each. `writtenNs + droppedNs == totalNs`.
    public var droppedNs: UInt64 = 0

    public init() {}
}

extension UInt64 {
    /// `self + other`, or `UInt64.max` where that would overflow.
    func addingOrMax(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}

/// Byte order of the UTF-8 encodings (as `LC_ALL=C sort`), by memcmp: the generic
/// `utf8.lexicographicallyPrecedes` was a quarter of folding 100,000 stacks.
func utf8Precedes(_ a: String, _ b: String) -> Bool {
    var a = a, b = b
    return a.withUTF8 { pa in
        b.withUTF8 { pb in
            let n = min(pa.count, pb.count)
            let c = n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n)
            return c != 0 ? c < 0 : pa.count < pb.count
        }
    }
}
