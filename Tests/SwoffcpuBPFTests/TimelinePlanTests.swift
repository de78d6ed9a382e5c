import Testing
@testable import SwoffcpuBPF

/// The timeline in the load plan: off unless asked, and then nothing of it loads.
@Suite struct TimelinePlanTests {
    @Test func offByDefault() {
        var options = TraceOptions(pids: [1])
        options.userStacks = false
        options.kernelStacks = false
        let plan = LoadPlan(options: options, tgids: [1], threads: 1, queueClock: true)
        #expect(!plan.timeline)
        #expect(!plan.programs.onWaking, "without stacks and timeline: no program at every wakeup")
        #expect(plan.timelineRingBytes == 4096, "one page: the smallest ring")
        #expect(plan.preemptCountFromRunQueue == nil)
    }

    @Test func onLoadsTheWakingHookAndSizesTheRing() {
        var options = TraceOptions(pids: [1])
        options.userStacks = false
        options.kernelStacks = false
        options.timeline = true
        options.timelineLimit = 2_000_000
        let plan = LoadPlan(options: options, tgids: [1], threads: 1, queueClock: true)
        #expect(plan.timeline && plan.programs.onWaking)
        #expect(plan.timelineRingBytes == 32 << 20) // a quarter of 2 M slices of 48 + 8 bytes, rounded up
        #expect(plan.timelineRingBytes & (plan.timelineRingBytes - 1) == 0, "a power of two")
        options.timelineLimit = 10
        #expect(LoadPlan(options: options, tgids: [1], threads: 1, queueClock: true).timelineRingBytes == 1 << 20)
        options.timelineLimit = 100_000_000
        #expect(LoadPlan(options: options, tgids: [1], threads: 1, queueClock: true).timelineRingBytes == 64 << 20)
    }
}
