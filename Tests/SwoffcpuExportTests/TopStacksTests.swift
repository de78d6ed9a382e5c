import SwoffcpuCore
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

@Suite struct TopStacksTests {
    private func sample(_ state: ThreadState, _ user: [String], _ ns: UInt64, tid: Int32 = 1) -> StackSample {
        StackSample(state: state, comm: "t", tid: tid, userFrames: user, kernelFrames: ["schedule"], valueNs: ns)
    }

    /// Checks that samples merge by stack across threads, rank by time with ties broken
    /// by frames (deterministically), and that the limit keeps the totals and counts of all.
    @Test func ranksMergesAndLimits() {
        let samples = [
            sample(.blocked, ["a"], 5, tid: 1), sample(.blocked, ["a"], 5, tid: 2),
            sample(.blocked, ["c"], 7), sample(.blocked, ["b"], 7), sample(.blocked, ["d"], 1),
            sample(.sleep, ["s"], 3), sample(.onCPU, ["x"], 100),
        ]
        let top = TopStacks(top: 2)
        let (rows, totals, counts) = top.ranked(SymbolizedStacks(samples), limit: 2)
        #expect(rows[.blocked]?.map(\.userFrames) == [["a"], ["b"]])
        #expect(rows[.blocked]?.first?.threads == ["t-1", "t-2"])
        #expect(totals[.blocked] == 25 && counts[.blocked] == 4)
        #expect(rows[.onCPU] == nil, "on-CPU has no off-CPU stacks")
        #expect(top.rows(samples)[.blocked]?.map(\.userFrames) == [["a"], ["b"], ["c"], ["d"]])
        let text = top.render(samples)
        #expect(text.contains("blocked (futex waits), 25ns in all"))
        #expect(text.contains("… 2 more stacks"))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }

    /// Checks that deep stacks lose the middle of their kernel part before any user frame.
    @Test func elidesKernelFramesFirst() {
        let kernel = (0..<10).map { "k\($0)" }, user = (0..<8).map { "u\($0)" }
        let row = TopStacks.Row(state: .blocked, userFrames: user, kernelFrames: kernel, ns: 1, threads: ["t-1"])
        let lines = TopStacks(maxFrames: 14).frameLines(row)
        #expect(lines.count <= 14)
        #expect(Array(lines.suffix(8)) == user, "every user frame kept")
        #expect(lines.first == "k0 [k]" && lines.contains { $0.contains("kernel frames …") })
    }
}
