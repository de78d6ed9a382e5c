/// Everything one trace found, before symbolization and rendering.
public struct TraceReport: Sendable {
    /// CLOCK_MONOTONIC ns at attach (seeding) and detach.
    public var windowStartNs: UInt64
    public var windowEndNs: UInt64
    public var processes: [ProcessReport]
    public var lost: LostCounts
    /// Off-CPU stacks, when they were walked (nil with --no-stacks).
    public var stacks: StackData? = nil
    /// Futex waits per lock, and who released them.
    public var locks: LockData? = nil
    /// Every interval of every thread, with wakers (--timeline, --waits, --critical-path).
    public var timeline: TimelineData? = nil

    public init(windowStartNs: UInt64, windowEndNs: UInt64, processes: [ProcessReport], lost: LostCounts) {
        self.windowStartNs = windowStartNs
        self.windowEndNs = windowEndNs
        self.processes = processes
        self.lost = lost
    }

    public var windowNs: UInt64 { windowEndNs > windowStartNs ? windowEndNs - windowStartNs : 0 }
}

/// One traced process and its threads.
public struct ProcessReport: Sendable {
    public var pid: Int32
    public var comm: String
    /// Whether the process had exited by the end of the window.
    public var exited: Bool
    public var threads: [ThreadRecord]
    /// Parent, command line and exit, when swoffcpu followed it (--follow, `-- COMMAND`).
    public var lineage: ProcessLineage? = nil

    public init(pid: Int32, comm: String, exited: Bool, threads: [ThreadRecord]) {
        self.pid = pid
        self.comm = comm
        self.exited = exited
        self.threads = threads
    }

    /// Sum over the process's threads.
    public var times: StateTimes { threads.reduce(StateTimes()) { $0 + $1.times } }
}

/// What the tracer could not record. Never silently dropped: every report shows these.
public struct LostCounts: Equatable, Sendable {
    /// Threads that could not be given kernel task storage, so were not traced.
    public var untracedThreads: UInt64 = 0
    /// Exit records of threads lost because the ring buffer was full.
    public var exitRecordsDropped: UInt64 = 0
    /// Thread-time those lost exit records covered, ns.
    public var exitRecordsDroppedNs: UInt64 = 0
    /// Context switches of traced threads the BPF programs did not see, rebuilt from the
    /// kernel's own clocks: nothing is missing, but those intervals'
    /// split between on-CPU, runnable and waiting is the kernel's, not the tracepoints'.
    public var switchesRecovered: UInt64 = 0

    public init(untracedThreads: UInt64 = 0, exitRecordsDropped: UInt64 = 0, exitRecordsDroppedNs: UInt64 = 0,
                switchesRecovered: UInt64 = 0) {
        self.untracedThreads = untracedThreads
        self.exitRecordsDropped = exitRecordsDropped
        self.exitRecordsDroppedNs = exitRecordsDroppedNs
        self.switchesRecovered = switchesRecovered
    }

    public var isZero: Bool { self == LostCounts() }
}
