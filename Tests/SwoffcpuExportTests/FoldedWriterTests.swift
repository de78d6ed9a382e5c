import Foundation
import SwoffcpuCore
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

@Suite struct FoldedWriterTests {
    private func sample(_ state: ThreadState = .blocked, comm: String = "worker", tid: Int32 = 7,
                        user: [String] = ["leaf", "mid", "main"], kernel: [String] = [], ns: UInt64) -> StackSample {
        StackSample(state: state, comm: comm, tid: tid, userFrames: user, kernelFrames: kernel, valueNs: ns)
    }

    /// Checks that a line is the state root, then user frames outermost to leaf, then kernel frames
    /// outermost to leaf with `_[k]`, and the value in rounded microseconds.
    @Test func lineLayout() {
        let text = FoldedWriter().render([
            sample(user: ["pthread_mutex_lock", "Ledger.apply", "main"],
                   kernel: ["schedule", "futex_wait", "do_syscall_64"], ns: 1_234_567),
        ])
        #expect(text == "blocked;main;Ledger.apply;pthread_mutex_lock;do_syscall_64_[k];futex_wait_[k];schedule_[k] 1235\n")
    }

    /// Checks that every state is its own root frame, named by `ThreadState.name`, with sleep-d apart from sleep.
    @Test func rootPerState() {
        let samples = ThreadState.allCases.map { sample($0, user: ["f"], ns: 2_000) }
        let roots = FoldedWriter().fold(samples).stacks.map { $0.frames[0] }
        #expect(roots == ["blocked", "on-cpu", "runnable", "sleep-d", "sleep"]) // line byte order: '-' < ';'
        #expect(Set(roots) == Set(ThreadState.allCases.map(\.name)))
    }

    /// Checks that `includeThread` puts `comm-TID` right under the root, and that stacks of different threads stay apart.
    @Test func threadFrames() {
        let writer = FoldedWriter(options: .init(includeThread: true))
        let result = writer.fold([
            sample(comm: "db writer", tid: 41, user: ["f"], ns: 5_000),
            sample(comm: "db writer", tid: 42, user: ["f"], ns: 6_000),
            sample(comm: "a;b\n", tid: 43, user: [], ns: 7_000),
        ])
        #expect(result.text == "blocked;a:b-43 7\nblocked;db writer-41;f 5\nblocked;db writer-42;f 6\n")
        #expect(FoldedWriter().fold([sample(tid: 1, ns: 5_000), sample(tid: 2, ns: 6_000)]).stacks.count == 1)
    }

    /// Checks that identical stacks merge into one line whose value is their summed nanoseconds rounded once.
    @Test func merging() {
        let result = FoldedWriter().fold(Array(repeating: sample(ns: 400), count: 3) + [sample(user: ["other"], ns: 2_000)])
        #expect(result.stacks == [
            FoldedStack(frames: ["blocked", "main", "mid", "leaf"], value: 1),
            FoldedStack(frames: ["blocked", "other"], value: 2),
        ])
        #expect(result.summary.samples == 4)
        #expect(result.summary.lines == 2)
        #expect(result.summary.totalNs == 3_200)
    }

    /// Checks that values round half up, that lines rounding to zero are dropped but accounted for,
    /// and that `keepZeroLines` keeps them.
    @Test func roundingAndZeroLines() {
        let samples = [sample(user: ["a"], ns: 1_499), sample(user: ["b"], ns: 1_500),
                       sample(user: ["c"], ns: 499), sample(user: ["d"], ns: 500)]
        let result = FoldedWriter().fold(samples)
        #expect(result.text == "blocked;a 1\nblocked;b 2\nblocked;d 1\n")
        #expect(result.summary.droppedLines == 1)
        #expect(result.summary.droppedNs == 499)
        #expect(result.summary.writtenNs + result.summary.droppedNs == result.summary.totalNs)
        #expect(result.summary.valueSum == 4)
        let kept = FoldedWriter(options: .init(keepZeroLines: true)).fold(samples)
        #expect(kept.text.contains("blocked;c 0\n"))
        #expect(kept.summary.droppedLines == 0)
    }

    /// Checks that the other units convert with the same rounding.
    @Test func units() {
        #expect(FoldedWriter(options: .init(unit: .nanoseconds)).render([sample(user: ["a"], ns: 1_499)]) == "blocked;a 1499\n")
        #expect(FoldedWriter(options: .init(unit: .milliseconds)).render([sample(user: ["a"], ns: 2_500_000)]) == "blocked;a 3\n")
        #expect(FoldedTimeUnit.microseconds.value(fromNanoseconds: UInt64.max) == UInt64.max / 1_000 + 1)
    }

    /// Checks that `;`, line breaks, control characters, surrounding spaces, empty names and
    /// a trailing " NUMBER" (which flamegraph.pl would read as a count) are made safe.
    @Test func escaping() {
        #expect(FoldedWriter.sanitize(frame: "std::map<int; int>") == "std::map<int: int>")
        #expect(FoldedWriter.sanitize(frame: "two\nlines\r\n") == "two lines")
        #expect(FoldedWriter.sanitize(frame: "  padded\t ") == "padded")
        #expect(FoldedWriter.sanitize(frame: "") == "[unknown]")
        #expect(FoldedWriter.sanitize(frame: " \n ") == "[unknown]")
        #expect(FoldedWriter.sanitize(frame: "tab\there") == "tab here")
        #expect(FoldedWriter.sanitize(frame: "worker 12") == "worker_12")
        #expect(FoldedWriter.sanitize(frame: "ratio 1.5") == "ratio_1.5")
        #expect(FoldedWriter.sanitize(frame: "v 12.") == "v_12.")
        #expect(FoldedWriter.sanitize(frame: "f(x: 12)") == "f(x: 12)")
        #expect(FoldedWriter.sanitize(frame: "a.12") == "a.12")
        #expect(FoldedWriter.sanitize(frame: "x .5") == "x .5")
        #expect(FoldedWriter.sanitize(frame: "closure #1 in Foo.bar()") == "closure #1 in Foo.bar()")
        #expect(FoldedWriter.sanitize(frame: "naïve→ü") == "naïve→ü")
        let text = FoldedWriter().render([sample(user: ["b;c", "a\nb "], ns: 3_000)])
        #expect(text == "blocked;a b;b:c 3\n")
        #expect(text.split(separator: "\n").count == 1)
    }

    /// Checks that kernel frames get `_[k]` once, even when the symbolizer already added it.
    @Test func kernelSuffix() {
        let frames = FoldedWriter().frames(for: sample(user: [], kernel: ["schedule_[k]", "futex_wait", ""], ns: 1))
        #expect(frames == ["blocked", "[unknown]_[k]", "futex_wait_[k]", "schedule_[k]"])
    }

    /// Checks that the output is sorted by bytes and does not depend on the order of the samples.
    @Test func deterministicOrder() {
        var samples: [StackSample] = []
        for (i, name) in ["b", "a", "B", "é", "a;", "a b", "_x"].enumerated() {
            samples.append(sample(ThreadState.allCases[i % 5], user: [name, "main"], ns: UInt64(1_000 * (i + 1))))
        }
        let text = FoldedWriter().render(samples)
        #expect(text == FoldedWriter().render(samples.reversed()))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines == lines.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    /// Checks that folded output parsed back gives the same stacks and values (round trip).
    @Test func roundTrip() throws {
        var generator = TestRNG(seed: 42)
        var samples: [StackSample] = []
        let names = ["main", "run()", "closure #1 in Foo.bar(x: Int)", "pthread_mutex_lock", "std::vector<int>::push_back",
                     "a;b", "white space", "ü", "<&>", "trailing 7"]
        for _ in 0..<500 {
            let user = (0..<Int.random(in: 0...6, using: &generator)).map { _ in names.randomElement(using: &generator)! }
            let kernel = (0..<Int.random(in: 0...3, using: &generator)).map { _ in ["schedule", "futex_wait", "io_schedule"].randomElement(using: &generator)! }
            samples.append(StackSample(state: ThreadState.allCases.randomElement(using: &generator)!,
                                       comm: "w\(Int.random(in: 0...3, using: &generator))", tid: Int32.random(in: 1...4, using: &generator),
                                       userFrames: user, kernelFrames: kernel,
                                       valueNs: UInt64.random(in: 0...5_000_000, using: &generator)))
        }
        for includeThread in [false, true] {
            let result = FoldedWriter(options: .init(includeThread: includeThread)).fold(samples)
            let parsed = try FoldedParser().parse(result.text)
            #expect(parsed == result.stacks)
            #expect(parsed.reduce(0) { $0 + $1.value } == result.summary.valueSum)
            #expect(FoldedParser.merge(parsed) == parsed)
            // Re-rendering what was parsed gives the same bytes.
            #expect(parsed.map { $0.line + "\n" }.joined() == result.text)
        }
    }

    /// Checks that the total written stays within half a microsecond per line of the true total.
    @Test func sumIsTruthful() {
        var generator = TestRNG(seed: 7)
        let samples = (0..<2_000).map { i in
            sample(ThreadState.allCases[i % 5], user: ["f\(i % 37)", "g\(i % 11)"], ns: UInt64.random(in: 0...3_000, using: &generator))
        }
        let summary = FoldedWriter().fold(samples).summary
        let exactMicros = Double(summary.writtenNs) / 1_000
        #expect(abs(Double(summary.valueSum) - exactMicros) <= 0.5 * Double(summary.lines))
        #expect(summary.writtenNs + summary.droppedNs == summary.totalNs)
        #expect(summary.totalNs == samples.reduce(0) { $0 + $1.valueNs })
    }

    /// Checks that a fold's text made in pieces on two threads (a big fold's) is the text made
    /// on one, in order and whole, whatever the pieces' size.
    @Test(arguments: [64, 1_000, 1 << 20])
    func piecesOnTwoThreadsAreTheText(chunkSize: Int) {
        let samples: [StackSample] = (0..<3_000).map { (i: Int) -> StackSample in
            let state: ThreadState = i % 3 == 0 ? .sleep : .blocked
            let user: [String] = ["main", "level\(i % 97)", "leaf\(i)"]
            return sample(state, user: user, ns: UInt64(1_000 + i * 17))
        }
        let result = FoldedWriter().fold(samples)
        var one: [UInt8] = [], two: [UInt8] = []
        result.write(chunkSize: chunkSize, threads: 1) { one += $0 }
        result.write(chunkSize: chunkSize, threads: 2) { two += $0 }
        #expect(!one.isEmpty && one == two)
        #expect(String(decoding: two, as: UTF8.self) == FoldedWriter().render(samples))
    }

    /// Checks that the folded result written in chunks through `AtomicFile` (as the CLI writes
    /// it) puts exactly the rendered text in the file.
    @Test func writeToFile() throws {
        let directory = try TestDirectory()
        let path = directory.path + "/out.folded"
        let samples = [sample(ns: 5_000), sample(.sleep, user: ["poll"], ns: 2_000_000)]
        let result = FoldedWriter().fold(samples)
        try AtomicFile.write(to: path) { write in try result.write(chunkSize: 16, to: write) }
        #expect(result.summary.lines == 2)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == FoldedWriter().render(samples))
    }
}
