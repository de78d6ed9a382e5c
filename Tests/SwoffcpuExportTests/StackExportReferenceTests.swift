import Foundation
import SwoffcpuCore
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

/// The folded file, the flame graph and the table's top stacks checked against reference
/// implementations that work on frame-name strings, the plain way (one joined string a line,
/// string-keyed merges): the exporters merge, sort and rank by integer frame and stack ids
/// instead, and must give the same bytes and numbers, whatever the names hold (`;`, control
/// characters, trailing numbers, names that sanitize alike, bytes that sort before `;`).
@Suite struct StackExportReferenceTests {
    /// Names chosen to break an id-based implementation that is not exact: `a` / `a!` / `a.cold`
    /// sort differently as frames than as lines (`!` and `.` come before `;`); `a;b` and `a:b`,
    /// `x\ty` and `x y`, `schedule` and `schedule_[k]` become the same folded frame; `f 12` is
    /// rewritten; the empty name becomes `[unknown]`, as does the unknown frame itself.
    static let names = ["main", "a", "a!", "a.cold", "a b", "a;b", "a:b", "x\ty", "x y", " lead", "trail ",
                        "f 12", "f_12", "f 1.5", "", "é", "Z", "_x", "schedule_[k]", "schedule", "[unknown]",
                        "n\u{85}l", "<&>\"'", "run()", "a0", "a/"]

    static func samples(seed: UInt64, count: Int) -> [StackSample] {
        var rng = TestRNG(seed: seed)
        let comms = ["w", "w;1", "a b", "w-1", ""]
        return (0..<count).map { _ in
            let user = (0..<Int.random(in: 0...5, using: &rng)).map { _ in names.randomElement(using: &rng)! }
            let kernel = (0..<Int.random(in: 0...3, using: &rng)).map { _ in names.randomElement(using: &rng)! }
            // Small values too, so that some lines round to zero.
            let ns = Bool.random(using: &rng) ? UInt64.random(in: 0...2_000, using: &rng)
                : UInt64.random(in: 0...5_000_000, using: &rng)
            return StackSample(state: ThreadState.allCases.randomElement(using: &rng)!,
                               comm: comms.randomElement(using: &rng)!, tid: Int32.random(in: 1...3, using: &rng),
                               userFrames: user, kernelFrames: kernel, valueNs: ns)
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func foldedMatchesReference(seed: UInt64) {
        let samples = Self.samples(seed: seed, count: 3_000)
        for includeThread in [false, true] {
            for unit in FoldedTimeUnit.allCases {
                for keepZeroLines in [false, true] {
                    let options = FoldedWriter.Options(includeThread: includeThread, unit: unit, keepZeroLines: keepZeroLines)
                    let reference = ReferenceFold(options: options).fold(samples)
                    let result = FoldedWriter(options: options).fold(samples)
                    #expect(result.text == reference.text)
                    #expect(result.summary == reference.summary)
                    #expect(result.stacks == reference.stacks)
                }
            }
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func flamegraphMatchesReference(seed: UInt64) {
        let samples = Self.samples(seed: seed, count: 3_000)
        let reference = ReferenceFold(options: .init(includeThread: true)).fold(samples)
        let folded = FoldedWriter(options: .init(includeThread: true)).fold(samples)
        for minFrameWidth in [0.0, 1, 20] {
            let writer = FlamegraphWriter(options: .init(minFrameWidth: minFrameWidth))
            let expected = writer.render(stacks: reference.stacks.map { ($0.frames, $0.value) })
            // From the fold's lines (sorted: no lookup of nodes), and from name arrays in any order.
            #expect(writer.render(folded) == expected)
            #expect(writer.render(stacks: reference.stacks.reversed().map { ($0.frames, $0.value) }) == expected)
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func topStacksMatchReference(seed: UInt64) {
        // Few distinct stacks, so that rows merge over threads and tie on time.
        var samples = Self.samples(seed: seed, count: 2_000)
        for i in samples.indices {
            samples[i].userFrames = Array(samples[i].userFrames.prefix(2))
            samples[i].kernelFrames = Array(samples[i].kernelFrames.prefix(1))
            samples[i].valueNs %= 4
        }
        for limit in [nil, 1, 5] as [Int?] {
            let reference = ReferenceTopStacks.ranked(samples, limit: limit)
            let result = TopStacks().ranked(SymbolizedStacks(samples), limit: limit)
            #expect(result.rows == reference.rows)
            #expect(result.totals == reference.totals)
            #expect(result.counts == reference.counts)
        }
    }
}

/// Folding as it was done on strings: each sample's frames sanitized and joined, lines merged by
/// their text in a dictionary, sorted by their UTF-8 bytes, rounded once each.
struct ReferenceFold {
    var options: FoldedWriter.Options

    func frames(for sample: StackSample) -> [String] {
        var frames = [sample.state.name]
        if options.includeThread { frames.append("\(FoldedWriter.sanitize(frame: sample.comm))-\(sample.tid)") }
        frames += sample.userFrames.reversed().map { FoldedWriter.sanitize(frame: $0) }
        for frame in sample.kernelFrames.reversed() {
            let name = FoldedWriter.sanitize(frame: frame)
            frames.append(name.hasSuffix(FoldedWriter.kernelSuffix) ? name : name + FoldedWriter.kernelSuffix)
        }
        return frames
    }

    func fold(_ samples: [StackSample]) -> (stacks: [FoldedStack], summary: FoldedSummary, text: String) {
        var nsByLine: [String: UInt64] = [:]
        var summary = FoldedSummary()
        for sample in samples {
            summary.samples += 1
            summary.totalNs += sample.valueNs
            nsByLine[frames(for: sample).joined(separator: ";"), default: 0] += sample.valueNs
        }
        var stacks: [FoldedStack] = []
        for key in nsByLine.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let ns = nsByLine[key]!
            let value = options.unit.value(fromNanoseconds: ns)
            if value == 0 && !options.keepZeroLines {
                summary.droppedLines += 1
                summary.droppedNs += ns
                continue
            }
            summary.lines += 1
            summary.writtenNs += ns
            summary.valueSum += value
            stacks.append(FoldedStack(frames: key.split(separator: ";", omittingEmptySubsequences: false).map(String.init),
                                      value: value))
        }
        return (stacks, summary, stacks.map { $0.line + "\n" }.joined())
    }
}

/// The table's top stacks as they were ranked on strings: merged by (state, user frames, kernel
/// frames), threads by `comm-TID`, most time first, ties by frames.
enum ReferenceTopStacks {
    static func ranked(_ samples: [StackSample], limit: Int?)
        -> (rows: [ThreadState: [TopStacks.Row]], totals: [ThreadState: UInt64], counts: [ThreadState: Int]) {
        struct Key: Hashable { var state: ThreadState; var user: [String]; var kernel: [String] }
        var merged: [Key: (ns: UInt64, threads: [String: UInt64])] = [:]
        for s in samples where s.state.isOffCPU {
            let key = Key(state: s.state, user: s.userFrames, kernel: s.kernelFrames)
            merged[key, default: (0, [:])].ns += s.valueNs
            merged[key]!.threads["\(s.comm)-\(s.tid)", default: 0] += s.valueNs
        }
        var rows: [ThreadState: [TopStacks.Row]] = [:], totals: [ThreadState: UInt64] = [:], counts: [ThreadState: Int] = [:]
        for state in ThreadState.allCases {
            var all = merged.filter { $0.key.state == state }.map { (key: $0.key, ns: $0.value.ns, threads: $0.value.threads) }
            guard !all.isEmpty else { continue }
            totals[state] = all.reduce(0) { $0 + $1.ns }
            counts[state] = all.count
            all.sort { a, b in
                if a.ns != b.ns { return a.ns > b.ns }
                if a.key.user != b.key.user { return a.key.user.lexicographicallyPrecedes(b.key.user) }
                return a.key.kernel.lexicographicallyPrecedes(b.key.kernel)
            }
            if let limit { all = Array(all.prefix(limit)) }
            rows[state] = all.map { c in
                let threads = c.threads.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
                return TopStacks.Row(state: state, userFrames: c.key.user, kernelFrames: c.key.kernel, ns: c.ns, threads: threads)
            }
        }
        return (rows, totals, counts)
    }
}
