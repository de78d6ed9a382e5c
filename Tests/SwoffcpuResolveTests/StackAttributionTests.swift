import SwoffcpuCore
import Testing
@testable import SwoffcpuResolve

@Suite struct StackAttributionTests {
    /// Checks that shares add up to the total exactly, in proportion, ties broken by position.
    @Test func splitIsExact() {
        #expect(StackAttribution.split(10, by: [1, 1, 1]) == [4, 3, 3])
        #expect(StackAttribution.split(1_000, by: [3, 0, 1]) == [750, 0, 250])
        #expect(StackAttribution.split(7, by: [0, 5]) == [0, 7])
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let weights = (0..<Int.random(in: 1...20, using: &rng)).map { _ in UInt64.random(in: 0...1_000_000, using: &rng) }
            guard weights.contains(where: { $0 > 0 }) else { continue }
            let total = UInt64.random(in: 0...10_000_000_000, using: &rng)
            let shares = StackAttribution.split(total, by: weights)
            #expect(shares.reduce(0, +) == total)
            #expect(zip(shares, weights).allSatisfy { $1 > 0 || $0 == 0 }, "no share without weight")
        }
    }

    /// Checks that a thread's state total goes to its entries in proportion to their weights,
    /// the lost part to `.lost`, and a state with no entry to `.notSampled`.
    @Test func attributesExactTotals() {
        var thread = ThreadRecord(tid: 1, tgid: 1, comm: "t", startNs: 0, endNs: 1_000,
                                  times: StateTimes(onCPU: 100, sleepInterruptible: 600, blocked: 300))
        thread.stackLostNs[.sleep] = 100
        let data = StackData(entries: [StackData.Entry(tid: 1, state: .sleep, userStack: 10, kernelStack: 20, weightedNs: 300, intervals: 1),
                                       StackData.Entry(tid: 1, state: .sleep, userStack: 11, kernelStack: 20, weightedNs: 100, intervals: 1)])
        let out = StackAttribution.attribute(data, threads: [thread])
        #expect(out.map(\.ns).reduce(0, +) == 900)
        #expect(out.first { $0.source == .stack(user: 10, kernel: 20) }?.ns == 360)
        #expect(out.first { $0.source == .stack(user: 11, kernel: 20) }?.ns == 120)
        #expect(out.first { $0.source == .lost }?.ns == 120)
        #expect(out.first { $0.state == .blocked }?.source == .notSampled)
    }
}
