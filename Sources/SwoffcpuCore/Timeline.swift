/// Every state interval of every traced thread (`--timeline`, `--waits`, `--critical-path`):
/// the intervals the kernel side closed, in the order it closed them, as sent through its
/// timeline ring buffer (bpf/timeline.bpf.h). They are the very intervals summed into each
/// thread's record, so a thread's slices add up to its `tracepointTimes` (or `times`, for a
/// record without the kernel's clocks) — unless slices were dropped, which `droppedSlices`
/// counts. docs/timeline.md.
public struct TimelineData: Sendable {
    public var slices: [TimelineSlice]
    /// Slices the kernel could not send (ring buffer full, or the limit reached), and the
    /// thread time they covered. Nothing else is ever missing.
    public var droppedSlices: UInt64
    public var droppedNs: UInt64
    /// `--timeline-limit`: slices kept at most.
    public var limit: Int

    public init(slices: [TimelineSlice] = [], droppedSlices: UInt64 = 0, droppedNs: UInt64 = 0, limit: Int = .max) {
        self.slices = slices
        self.droppedSlices = droppedSlices
        self.droppedNs = droppedNs
        self.limit = limit
    }

    /// Each thread's slices, sorted by start.
    public func byThread() -> [Int32: [TimelineSlice]] {
        var out: [Int32: [TimelineSlice]] = [:]
        for s in slices { out[s.tid, default: []].append(s) }
        for k in out.keys { out[k]!.sort { $0.startNs < $1.startNs } }
        return out
    }

    /// Per thread, the time per state its slices add up to.
    public func totals() -> [Int32: StateTimes] {
        var out: [Int32: StateTimes] = [:]
        for s in slices { out[s.tid, default: StateTimes()][s.state] += s.durationNs }
        return out
    }
}

/// Who ended a wait.
public struct Waker: Sendable, Equatable, Hashable {
    public enum Context: Sendable, Equatable, Hashable {
        /// The waking thread itself (a futex wake, a pipe write, an exit).
        case thread
        /// A softirq running in `tid`'s context (loopback network, timer wheel).
        case softirq
        /// A hardware interrupt (a timer expiring, a device): no waking thread.
        case hardirq
    }

    public var tid: Int32
    public var tgid: Int32
    public var context: Context

    public init(tid: Int32, tgid: Int32, context: Context = .thread) {
        self.tid = tid
        self.tgid = tgid
        self.context = context
    }
}

/// One interval of one thread in one state: [startNs, endNs).
public struct TimelineSlice: Sendable, Equatable {
    public var tid: Int32
    public var tgid: Int32
    public var startNs: UInt64
    public var endNs: UInt64
    public var state: ThreadState
    /// What a wait waited on: the futex word (`blocked`), or the syscall it slept in
    /// (`syscall`, for sleeps); 0 when unknown.
    public var channel: UInt64
    public var channelIsSyscall: Bool
    /// Who woke this wait, when sched_waking saw it (waits only).
    public var waker: Waker?

    public init(tid: Int32, tgid: Int32, startNs: UInt64, endNs: UInt64, state: ThreadState,
                channel: UInt64 = 0, channelIsSyscall: Bool = false, waker: Waker? = nil) {
        self.tid = tid
        self.tgid = tgid
        self.startNs = startNs
        self.endNs = endNs
        self.state = state
        self.channel = channel
        self.channelIsSyscall = channelIsSyscall
        self.waker = waker
    }

    public var durationNs: UInt64 { endNs > startNs ? endNs - startNs : 0 }

    /// The wait `slices[wait]` ended `d` ns earlier than its slice said: the kernel started the
    /// thread's on-CPU time (and ended its run-queue wait) at the enqueue, before the switch-in
    /// tracepoint (bpf/accounting.bpf.h, `wait_end_early`, which moved as much from the wait to
    /// on-CPU in the record). The wait's end, the runnable slice after it and the on-CPU slice's
    /// start move back by `d`, so that a thread's slices still add up to its record.
    public static func endWaitEarly(_ slices: inout [TimelineSlice], wait: Int, runnable: Int?,
                                    onCPU: inout TimelineSlice, by d: UInt64) {
        guard wait < slices.count else { return }
        let d = min(d, slices[wait].durationNs)
        slices[wait].endNs -= d
        if let r = runnable, r < slices.count {
            slices[r].startNs -= d
            slices[r].endNs -= d
        }
        onCPU.startNs -= d
    }
    public var isWait: Bool { state == .sleep || state == .sleepUninterruptible || state == .blocked }
}

/// x86_64 syscall names of the usual sleeps, for a sleep's channel.
public enum SyscallNames {
    static let names: [UInt64: String] = [
        0: "read", 1: "write", 7: "poll", 17: "pread64", 18: "pwrite64", 19: "readv", 20: "writev",
        23: "select", 34: "pause", 35: "nanosleep", 43: "accept", 44: "sendto", 45: "recvfrom",
        46: "sendmsg", 47: "recvmsg", 61: "wait4", 74: "fsync", 202: "futex", 230: "clock_nanosleep",
        232: "epoll_wait", 247: "waitid", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait",
        288: "accept4", 299: "recvmmsg", 307: "sendmmsg", 426: "io_uring_enter", 441: "epoll_pwait2",
        449: "futex_waitv", 455: "futex_wait",
    ]

    public static func name(_ nr: UInt64) -> String { names[nr] ?? "syscall \(nr)" }
}
