/// The kernel's own per-thread clocks over a thread's window: on-CPU time
/// (`se.sum_exec_runtime`) and run-queue wait (`sched_info.run_delay`), the first two
/// fields of /proc/PID/task/TID/schedstat.
///
/// Tracepoint timestamps and the kernel disagree on where a switch happens: the kernel
/// stamps a switch with its run queue's clock, read at the top of `__schedule()` — and not
/// re-read at all when a wakeup has just asked for the reschedule, so a thread woken onto
/// an idle CPU is on-CPU, by the kernel's accounting, while that CPU leaves idle (5–25 µs a
/// switch on a VM); the tracepoint fires later in `__schedule()` (about 1 µs a switch for
/// a thread that sleeps 10,000 times a second). schedstat is the reference for on-CPU and
/// runnable time, so `reconcile` takes them from the kernel's clocks; the tracepoints stay
/// the reference for how the rest of the window splits between sleep, uninterruptible
/// sleep and futex waits.
///
/// `sum_exec_runtime` runs on the run queue's *task* clock, which leaves out what the
/// hypervisor took from the vCPU (steal) and, where the kernel accounts it apart
/// (CONFIG_IRQ_TIME_ACCOUNTING), interrupt time. The thread held its CPU all the same: those
/// are counted over its own slices (`stolenNs`, `interruptNs`) and belong to on-CPU, never to
/// an off-CPU state. On-CPU minus both is schedstat's on-CPU.
public struct KernelClocks: Equatable, Sendable {
    public var onCPUNs: UInt64
    public var runDelayNs: UInt64
    /// Steal time during the thread's on-CPU slices (the run queue's `prev_steal_time_rq`).
    public var stolenNs: UInt64
    /// Interrupt time during its slices, where the kernel accounts it apart (`prev_irq_time`).
    public var interruptNs: UInt64

    public init(onCPUNs: UInt64, runDelayNs: UInt64, stolenNs: UInt64 = 0, interruptNs: UInt64 = 0) {
        self.onCPUNs = onCPUNs
        self.runDelayNs = runDelayNs
        self.stolenNs = stolenNs
        self.interruptNs = interruptNs
    }

    /// The thread's time holding a CPU: the kernel's task-clock time plus what was taken from it.
    public var heldCPUNs: UInt64 { onCPUNs + stolenNs + interruptNs }

    /// `times` with on-CPU and runnable taken from the kernel's clocks. The window (the
    /// sum of the four states) does not change:
    /// - a thread that also slept or waited: on-CPU + runnable become the kernel's (at most
    ///   the window), and what is left of the window is shared among sleep, uninterruptible
    ///   sleep and blocked in the tracepoints' proportions;
    /// - a thread that never left the run queue: the window stays on-CPU + runnable, split
    ///   in the kernel's proportion (what its clocks miss at the window's edges is shared);
    /// - a thread that `exited`: its clocks were read at its last switch-out, where the
    ///   kernel had charged it everything it will ever charge it, so on-CPU is the kernel's
    ///   exactly (at most the window) and runnable takes the rest. Sharing would count time
    ///   the kernel charged to another task: a thread that wakes its joiner on the way out
    ///   (the futex wake at `mm_release`) runs the rest of its exit on a run-queue clock
    ///   that is no longer read (`rq_clock_skip_update`), and the kernel charges that time
    ///   to the task switched in after it — the joiner, itself traced (measured 16 µs an
    ///   exit under the tracer; docs/testing.md).
    /// On-CPU is `heldCPUNs`: the task clock's time plus steal and interrupt time.
    public func reconcile(_ times: StateTimes, exited: Bool = false) -> StateTimes {
        let running = times.onCPU + times.runnable
        let waiting = times.sleep + times.blocked
        let onCPUNs = heldCPUNs
        let kernel = onCPUNs + runDelayNs
        guard kernel > 0 else { return times }
        var out = times
        var newRunning = running
        if waiting > 0 {
            newRunning = min(kernel, running + waiting)
            let shares = Self.split(running + waiting - newRunning,
                                    [times.sleepInterruptible, times.sleepUninterruptible, times.blocked])
            out.sleepInterruptible = shares[0]
            out.sleepUninterruptible = shares[1]
            out.blocked = shares[2]
        }
        let on = exited ? min(newRunning, onCPUNs)
            : min(newRunning, UInt64((Double(newRunning) * Double(onCPUNs) / Double(kernel)).rounded()))
        out.onCPU = on
        out.runnable = newRunning - on
        return out
    }

    /// `total` in proportion to `weights` (not all zero), summing exactly to `total`;
    /// the rounding remainder goes to the largest weight.
    static func split(_ total: UInt64, _ weights: [UInt64]) -> [UInt64] {
        let sum = weights.reduce(0, +)
        guard sum > 0 else { return weights.map { _ in 0 } }
        var shares = weights.map { UInt64((Double(total) * Double($0) / Double(sum)).rounded(.down)) }
        let given = shares.reduce(0, +)
        if let largest = weights.indices.max(by: { weights[$0] < weights[$1] }), given <= total {
            shares[largest] += total - given
        }
        return shares
    }
}

extension ThreadRecord {
    /// On-CPU and runnable taken from the kernel's clocks (`KernelClocks.reconcile`), the
    /// tracepoints' times kept in `tracepointTimes`, and the stolen and interrupt parts of
    /// on-CPU filled in. Nothing changes for a record without the kernel's clocks.
    public mutating func reconcileWithKernelClocks() {
        guard let k = kernelClocks else { return }
        tracepointTimes = times
        times = k.reconcile(times, exited: exited)
        stolenNs = min(k.stolenNs, times.onCPU)
        interruptNs = min(k.interruptNs, times.onCPU - stolenNs)
    }
}
