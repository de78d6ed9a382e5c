import Testing
@testable import SwoffcpuCore
import SwoffcpuTestSupport

@Suite struct KernelClocksTests {
    /// Checks that a thread that also slept gets on-CPU and runnable exactly from the kernel's
    /// clocks, the rest of its window shared among its off-CPU states, the window unchanged.
    @Test func sleeperTakesTheKernelsRunningTime() {
        let times = StateTimes(onCPU: 300, runnable: 200, sleepInterruptible: 400, sleepUninterruptible: 100, blocked: 0)
        let out = KernelClocks(onCPUNs: 320, runDelayNs: 150).reconcile(times)
        #expect(out.onCPU == 320 && out.runnable == 150)
        #expect(out.total == times.total)
        #expect(out.sleepInterruptible == 424 && out.sleepUninterruptible == 106 && out.blocked == 0)
    }

    /// Checks that the kernel's running time never exceeds the window, and that a thread
    /// that never left the run queue keeps its window, split in the kernel's proportion.
    @Test func boundsAndRunQueueOnly() {
        let sleeper = StateTimes(onCPU: 100, runnable: 0, sleepInterruptible: 100)
        let capped = KernelClocks(onCPUNs: 300, runDelayNs: 100).reconcile(sleeper)
        #expect(capped.onCPU + capped.runnable == 200 && capped.sleep == 0)
        #expect(capped.onCPU == 150)
        let spinner = StateTimes(onCPU: 900, runnable: 100)
        let split = KernelClocks(onCPUNs: 600, runDelayNs: 300).reconcile(spinner)
        #expect(split.onCPU == 667 && split.runnable == 333 && split.total == 1000)
    }

    /// Checks that an exited thread's on-CPU is the kernel's exactly (its clocks are final),
    /// never scaled up to fill its window: the rest is runnable, and the window unchanged.
    @Test func exitedThreadKeepsTheKernelsOnCPU() {
        let child = StateTimes(onCPU: 120, runnable: 80) // 200 ns lifetime, the kernel saw 170
        let out = KernelClocks(onCPUNs: 100, runDelayNs: 70).reconcile(child, exited: true)
        #expect(out.onCPU == 100 && out.runnable == 100 && out.total == 200)
        let waited = StateTimes(onCPU: 50, runnable: 20, blocked: 130)
        let w = KernelClocks(onCPUNs: 60, runDelayNs: 30).reconcile(waited, exited: true)
        #expect(w.onCPU == 60 && w.runnable == 30 && w.blocked == 110)
        let over = KernelClocks(onCPUNs: 300, runDelayNs: 0).reconcile(child, exited: true)
        #expect(over.onCPU == 200 && over.runnable == 0)
    }

    /// Checks that without kernel time, or for a thread that only slept, nothing changes.
    @Test func nothingToReconcile() {
        let parked = StateTimes(blocked: 1_000)
        #expect(KernelClocks(onCPUNs: 0, runDelayNs: 0).reconcile(parked) == parked)
        let mixed = StateTimes(onCPU: 10, sleepInterruptible: 90)
        #expect(KernelClocks(onCPUNs: 0, runDelayNs: 0).reconcile(mixed) == mixed)
    }
}
