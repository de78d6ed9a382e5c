/// The kernel's own per-thread clocks over a thread's window: on-CPU time
/// (`se.sum_exec_runtime`) and run-queue wait (`sched_info.run_delay`), the first two
/// fields of /proc/PID/task/TID/schedstat.
///
/// Tracepoint timestamps and the kernel disagree on where a switch-in happens: the
/// kernel stamps a switch with its run queue's clock, which it does not re-read when a
/// wakeup has just asked for the reschedule, so a thread woken onto an idle CPU is
/// on-CPU by the kernel's accounting while that CPU leaves idle (5–25 µs a switch on a
/// VM: a thread switching 1,000 times a second shifts 1–2.5 % of its time). The
/// tracepoints are exact about when a thread leaves the run queue for sleep or a futex
/// wait; the kernel is the reference for how running time splits between on-CPU and
/// runnable. `reconcile` combines the two.
public struct KernelClocks: Equatable, Sendable {
    public var onCPUNs: UInt64
    public var runDelayNs: UInt64

    public init(onCPUNs: UInt64, runDelayNs: UInt64) {
        self.onCPUNs = onCPUNs
        self.runDelayNs = runDelayNs
    }

    /// `times` with on-CPU and runnable re-split by the kernel's clocks. Their sum — the
    /// window less the sleeps and futex waits the tracepoints measured — does not change,
    /// so the four states still add up to the window. What the kernel's two clocks leave
    /// over or miss of that sum (steal time, the window's edges) is shared in proportion.
    public func reconcile(_ times: StateTimes) -> StateTimes {
        let running = times.onCPU + times.runnable
        let kernel = onCPUNs + runDelayNs
        guard running > 0, kernel > 0 else { return times }
        var out = times
        let on = Double(running) * Double(onCPUNs) / Double(kernel)
        out.onCPU = min(running, UInt64(on.rounded()))
        out.runnable = running - out.onCPU
        return out
    }
}
