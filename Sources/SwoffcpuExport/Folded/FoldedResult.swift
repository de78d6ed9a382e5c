import SwoffcpuCore
import SwoffcpuSystem

/// What a fold produced: the merged lines, sorted by their bytes, each a stack of indices
/// into one table of frame names. The text is put together only when written.
public struct FoldedResult: Sendable {
    /// One line: up to two frames (`first`, `second`; -1: none) then the frames of `body`,
    /// root first, and its count.
    public struct Line: Sendable, Equatable {
        public var first: Int32
        public var second: Int32
        public var body: Int32
        public var value: UInt64

        /// A line of `body`'s frames alone.
        public init(first: Int32 = -1, second: Int32 = -1, body: Int32, value: UInt64) {
            self.first = first
            self.second = second
            self.body = body
            self.value = value
        }
    }

    /// The lines' frame names (sanitized: valid folded frames) and their bodies.
    public var frames: StackTable
    /// Merged lines, sorted by their bytes.
    public var lines: [Line]
    public var summary: FoldedSummary
    public var unit: FoldedTimeUnit

    /// A line's frames (indices into `frames.names`), root first.
    public func frames(of line: Line) -> LineFrames {
        LineFrames(first: line.first, second: line.second, body: frames.frames(line.body))
    }

    /// The lines with their frame names.
    public var stacks: [FoldedStack] {
        lines.map { line in FoldedStack(frames: frames(of: line).map { frames.names[Int($0)] }, value: line.value) }
    }

    /// The file's bytes: one line per stack, each ending in `\n`; empty for no stacks.
    public var bytes: [UInt8] {
        var all: [UInt8] = []
        write { all += $0 }
        return all
    }

    /// The file's bytes handed to `body` in pieces of about `chunkSize` bytes, in order: the
    /// text of a big fold (60 MB for 200,000 lines) never sits whole in memory. The pieces of
    /// a big fold are made `threads` at a time, one on each thread (a piece is a run of lines),
    /// and handed on in order: making the text was a tenth of the stop with 100,000 stacks,
    /// on one CPU while the other had finished the JSON.
    public func write(chunkSize: Int = 1 << 20, threads: Int = 2, to body: ([UInt8]) throws -> Void) rethrows {
        // Every name's bytes in one buffer: name i is names[start[i]..<start[i + 1]].
        var names: [UInt8] = [], start = [0]
        for name in frames.names {
            names += name.utf8
            start.append(names.count)
        }
        let longest = zip(start, start.dropFirst()).map { $1 - $0 }.max() ?? 0
        let text = LineText(result: self, names: names, start: start, longest: longest)
        // Runs of lines of about chunkSize bytes each, by the lines' average length so far.
        let linesPerPiece = max(1, chunkSize / max(1, text.averageLength(sample: 256)))
        let pieces = (lines.count + linesPerPiece - 1) / linesPerPiece
        if threads < 2 || pieces < 4 {
            try text.pieces(0..<lines.count, chunkSize: chunkSize, to: body)
            return
        }
        var first = 0
        while first < pieces {
            let round = min(threads, pieces - first), from = first
            let made = Concurrently.map(round, threads: round) { k in
                let p = from + k
                var out: [[UInt8]] = []
                text.pieces((p * linesPerPiece)..<min(lines.count, (p + 1) * linesPerPiece), chunkSize: chunkSize) { out.append($0) }
                return out
            }
            for piece in made.joined() { try body(piece) }
            first += round
        }
    }

    /// Makes the text of runs of lines: the names' bytes in one buffer.
    private struct LineText: Sendable {
        let result: FoldedResult
        let names: [UInt8]
        let start: [Int]
        let longest: Int

        /// Room for a line: its names and separators, a space, a count, a line break.
        func room(_ line: Line) -> Int { result.frames(of: line).count * (longest + 1) + 22 }

        /// The average length of the first `sample` lines' text.
        func averageLength(sample: Int) -> Int {
            let lines = result.lines.prefix(sample)
            guard !lines.isEmpty else { return 1 }
            let total = lines.reduce(0) { n, line in
                n + result.frames(of: line).reduce(0) { $0 + start[Int($1) + 1] - start[Int($1)] + 1 } + 21
            }
            return total / lines.count
        }

        /// The text of `range`'s lines, handed to `body` in pieces of at most about `chunkSize` bytes.
        func pieces(_ range: Range<Int>, chunkSize: Int, to body: ([UInt8]) throws -> Void) rethrows {
            let lines = result.lines[range]
            let capacity = max(chunkSize, lines.map(room).max() ?? 0)
            try names.withUnsafeBufferPointer { names in
                try ByteChunk.with(capacity: capacity) { out in
                    for line in lines {
                        if out.room < room(line) { try body(out.take()) }
                        for (i, f) in result.frames(of: line).enumerated() {
                            if i > 0 { out.append(UInt8(ascii: ";")) }
                            out.append(UnsafeBufferPointer(rebasing: names[start[Int(f)]..<start[Int(f) + 1]]))
                        }
                        out.append(UInt8(ascii: " "))
                        out.appendDecimal(line.value)
                        out.append(UInt8(ascii: "\n"))
                    }
                    if out.count > 0 { try body(out.take()) }
                }
            }
        }
    }

    /// The file's text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// The frames of a folded line without copying them: its prefix, then its body's.
public struct LineFrames: RandomAccessCollection, Sendable {
    let first: Int32
    let second: Int32
    let body: ArraySlice<Int32>

    private var prefix: Int { first < 0 ? 0 : second < 0 ? 1 : 2 }
    public var startIndex: Int { 0 }
    public var endIndex: Int { prefix + body.count }

    public subscript(i: Int) -> Int32 {
        let p = prefix
        if i < p { return i == 0 ? first : second }
        return body[body.startIndex + i - p]
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

extension Array where Element == UInt8 {
    /// Appends the decimal digits of `value`, as `String(value)` would write them.
    mutating func appendDecimal(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // room for the 20 digits of UInt64.max
        Swift.withUnsafeMutableBytes(of: &digits) { buffer in
            let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            append(contentsOf: UnsafeBufferPointer(start: base, count: ByteChunk.writeDecimal(value, to: base)))
        }
    }
}
