import SwoffcpuCore

/// One scheduler event as the BPF programs in bpf/swoffcpu.bpf.c see it, for `Accountant`,
/// the pure-Swift model of their state machine. Times are CLOCK_MONOTONIC ns, per event:
/// events from different CPUs may arrive interleaved and slightly out of time order.
public enum SchedEvent: Equatable, Hashable, Sendable {
    /// A thread that exists when tracing begins, in `state` at `at` (the `seed_threads` iterator).
    /// Ignored for a thread that is already traced.
    case seed(tid: Int32, tgid: Int32, comm: String, state: ThreadState, at: UInt64)
    /// `parentTid` created thread `childTid` (`sched_process_fork`, same process). The child is
    /// traced iff the parent is (and the accountant follows threads): runnable, born, from `at`,
    /// with the parent's tgid and comm.
    case fork(parentTid: Int32, childTid: Int32, at: UInt64)
    /// `tid` left its CPU (`sched_switch`, prev side). `taskState` is the kernel's `prev_state`
    /// bits; `inFutexWait` is whether its saved registers show a futex wait syscall.
    case switchOut(tid: Int32, at: UInt64, preempt: Bool, taskState: UInt32, inFutexWait: Bool)
    /// `tid` got a CPU (`sched_switch`, next side). From a wait (sleep, sleep D, blocked), the
    /// BPF program times the wakeup here: `at` less the run-queue wait the kernel counted
    /// since the thread was queued (`woken_at`).
    case switchIn(tid: Int32, at: UInt64)
    /// The kernel woke `tid` and put it on a run queue (`try_to_wake_up`; it stamps
    /// `sched_info.last_queued`). No program runs here: the wakeup is timed at the next
    /// switch-in, or at the window end if the thread is still queued then. Matters only for a
    /// thread in a wait (sleep, sleep D, blocked) that is not queued yet.
    case wakeup(tid: Int32, at: UInt64)
    /// `tid` exited (`sched_process_exit`). Its record is closed and it is no longer traced.
    case exit(tid: Int32, at: UInt64)

    /// The thread the event is about (for `fork`, the child).
    public var tid: Int32 {
        switch self {
        case .seed(let tid, _, _, _, _): tid
        case .fork(_, let child, _): child
        case .switchOut(let tid, _, _, _, _): tid
        case .switchIn(let tid, _): tid
        case .wakeup(let tid, _): tid
        case .exit(let tid, _): tid
        }
    }

    /// When the event happened, CLOCK_MONOTONIC ns.
    public var at: UInt64 {
        switch self {
        case .seed(_, _, _, _, let at): at
        case .fork(_, _, let at): at
        case .switchOut(_, let at, _, _, _): at
        case .switchIn(_, let at): at
        case .wakeup(_, let at): at
        case .exit(_, let at): at
        }
    }
}

/// Kernel task state bits (`prev_state` of `sched_switch`), include/linux/sched.h.
public enum KernelTaskState {
    public static let running: UInt32 = 0x0000
    public static let interruptible: UInt32 = 0x0001
    public static let uninterruptible: UInt32 = 0x0002
    /// TASK_UNINTERRUPTIBLE | TASK_NOLOAD (0x0400): idle kernel threads; counted as sleep D.
    public static let idle: UInt32 = 0x0402
    public static let dead: UInt32 = 0x0080
}

extension ThreadState {
    /// The state a thread enters when it is switched out, exactly as `on_switch` in
    /// bpf/swoffcpu.bpf.c decides it: preempted or still TASK_RUNNING (yield) -> runnable;
    /// else TASK_UNINTERRUPTIBLE -> sleep D; else a futex wait -> blocked; else sleep.
    public static func afterSwitchOut(preempt: Bool, taskState: UInt32, inFutexWait: Bool) -> ThreadState {
        if preempt || taskState == KernelTaskState.running { return .runnable }
        if taskState & KernelTaskState.uninterruptible != 0 { return .sleepUninterruptible }
        if inFutexWait { return .blocked }
        return .sleep
    }

    /// Whether a wakeup moves a thread in this state to runnable (`is_wait`).
    public var isWakeable: Bool {
        self == .sleep || self == .sleepUninterruptible || self == .blocked
    }
}
