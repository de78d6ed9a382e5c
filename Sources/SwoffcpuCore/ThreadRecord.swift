/// One thread's accounting over its part of the trace window, as the kernel side
/// reports it (`struct swoffcpu_thread_rec`) or as `Accountant` computes it.
/// Invariant: `times.total == endNs - startNs`.
public struct ThreadRecord: Equatable, Sendable {
    public var tid: Int32
    public var tgid: Int32
    public var comm: String
    /// CLOCK_MONOTONIC ns: when tracing of this thread began (window start, or its birth).
    public var startNs: UInt64
    /// CLOCK_MONOTONIC ns: window end, or the thread's exit if `exited`.
    public var endNs: UInt64
    public var times: StateTimes
    /// Switch-outs seen while traced.
    public var switches: UInt64
    /// Wakeups from sleep or a futex wait seen while traced.
    public var wakeups: UInt64
    /// Existed when tracing began (its first state was read from the task).
    public var seeded: Bool
    /// Created during the trace window.
    public var born: Bool
    /// Exited during the trace window.
    public var exited: Bool
    /// State at `endNs`.
    public var finalState: ThreadState
    /// The kernel's own clocks over the thread's window (schedstat's on-CPU and run-queue
    /// wait), when the kernel side could read them. See `KernelClocks`.
    public var kernelClocks: KernelClocks? = nil
    /// `times` as the tracepoints measured them, before on-CPU and runnable were taken from
    /// `kernelClocks` (nil when they were not): for checking the kernel side against the kernel.
    public var tracepointTimes: StateTimes? = nil
    /// Of `times.onCPU`: time the hypervisor took from the vCPU while this thread held it
    /// (steal), and interrupt time where the kernel accounts it apart. Filled in with on-CPU
    /// from `kernelClocks` (`ReportBuilder`/the loader's reconciliation).
    public var stolenNs: UInt64 = 0
    public var interruptNs: UInt64 = 0
    /// Weighted off-CPU time of walked intervals the kernel could not add to its
    /// stack-time map (full), per state: reported as lost stacks.
    public var stackLostNs: StateTimes = StateTimes()
    /// Of `times.blocked`: futex waits on the GIL of a Python interpreter (exact, from the
    /// lock table), and the interpreter's name of the thread (`threading.Thread.name`) where
    /// it could be read. Filled in by the resolve stage (PythonGIL).
    public var gilWaitNs: UInt64 = 0
    public var pythonName: String? = nil
    /// --cgroup: moved into the traced cgroup during the window (`startNs` is the move), or
    /// out of it (`endNs` is the move: not traced after it, like an exit).
    public var joined = false
    public var left = false

    public init(tid: Int32, tgid: Int32, comm: String, startNs: UInt64, endNs: UInt64,
                times: StateTimes, switches: UInt64 = 0, wakeups: UInt64 = 0,
                seeded: Bool = false, born: Bool = false, exited: Bool = false,
                finalState: ThreadState = .onCPU) {
        self.tid = tid
        self.tgid = tgid
        self.comm = comm
        self.startNs = startNs
        self.endNs = endNs
        self.times = times
        self.switches = switches
        self.wakeups = wakeups
        self.seeded = seeded
        self.born = born
        self.exited = exited
        self.finalState = finalState
    }

    /// The thread's time inside the window.
    public var windowNs: UInt64 { endNs > startNs ? endNs - startNs : 0 }
}
