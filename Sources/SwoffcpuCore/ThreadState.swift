/// The state a thread is in at any instant. Raw values match `SWOFFCPU_*` in bpf/swoffcpu.h,
/// which index the per-state time array of the kernel's records.
public enum ThreadState: Int, CaseIterable, Sendable, Codable {
    /// Running on a CPU: switch-in to switch-out.
    case onCPU = 0
    /// On a run queue, waiting for a CPU: woken or preempted, until switch-in.
    case runnable = 1
    /// Off-CPU, interruptible, not a futex wait: poll, epoll, pipes, sockets, nanosleep.
    case sleep = 2
    /// Off-CPU, uninterruptible (D state): mostly disk I/O. Part of "sleep" in the report.
    case sleepUninterruptible = 3
    /// Off-CPU in a futex wait: mutexes, condition variables, semaphores, rwlocks.
    case blocked = 4

    /// Whether the thread is off its CPU in this state.
    public var isOffCPU: Bool { self != .onCPU }

    /// Short lower-case name used in reports and as the root frame of folded stacks.
    public var name: String {
        switch self {
        case .onCPU: "on-cpu"
        case .runnable: "runnable"
        case .sleep: "sleep"
        case .sleepUninterruptible: "sleep-d"
        case .blocked: "blocked"
        }
    }
}
