import Testing
@testable import SwoffcpuBPF

/// The load plan is pure: what loads and how big the maps are, from the options, the targets'
/// thread count and whether the kernel has run-queue clocks. No BPF, no root.
@Suite struct LoadPlanTests {
    /// Checks the default plan: stacks walked, sched_waking for releasers, no sched_wakeup where
    /// the kernel has run-queue clocks, maps sized with a wide margin, the fast tgid filter.
    @Test func defaults() {
        let plan = LoadPlan(options: TraceOptions(pids: [10, 20]), tgids: [10, 20], threads: 5, queueClock: true)
        #expect(plan.programs.onSwitch && plan.programs.onFork && plan.programs.seedThreads && plan.programs.dumpThreads)
        #expect(plan.programs.onWaking && !plan.programs.onWakeup && plan.programs.seedUserStacks)
        #expect(plan.walkUser && plan.walkKernel && plan.walkOneIn == 64 && plan.walkPeriodNs == 10_000_000)
        #expect(plan.followThreads && !plan.filterTids && plan.queueClock)
        #expect(plan.fastTgids == [10, 20])
        #expect(plan.mapSizes.userStacks == 131_072 && plan.mapSizes.stackTime == 262_144 && plan.mapSizes.lockWaits == 65_536)
    }

    /// Checks the choices each option and the kernel make.
    @Test func choices() {
        var options = TraceOptions(pids: [1], tids: [7])
        options.userStacks = false
        options.kernelStacks = false
        let noStacks = LoadPlan(options: options, tgids: [1], threads: 1, queueClock: false)
        #expect(!noStacks.programs.onWaking, "no releasers without stacks")
        #expect(noStacks.programs.onWakeup, "no run-queue clocks: the wakeup hook times wakeups")
        #expect(!noStacks.programs.seedUserStacks && noStacks.withoutOptionalPrograms() == nil)
        #expect(noStacks.mapSizes.stackTime == 1, "the preallocated stack-time map is left at one entry")
        #expect(noStacks.filterTids && !noStacks.followThreads)

        var all = TraceOptions(pids: [1])
        all.allStacks = true
        all.maxStacks = 5_000
        let big = LoadPlan(options: all, tgids: Array(1...9), threads: 100_000, queueClock: true)
        #expect(big.walkOneIn == 1)
        #expect(big.mapSizes.userStacks == 5_000 && big.mapSizes.kernelStacks == 5_000)
        #expect(big.mapSizes.stackTime == 1_600_000 && big.mapSizes.lockWaits == 3_200_000)
        #expect(big.fastTgids.isEmpty, "more targets than the fast filter holds")
        let retry = LoadPlan(options: all, tgids: [1], threads: 1, queueClock: true).withoutOptionalPrograms()
        #expect(retry?.programs.seedUserStacks == false && retry?.programs.onSwitch == true)
    }
}
