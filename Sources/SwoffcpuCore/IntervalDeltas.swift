/// The columns a top view sorts by (`--sort`): the report's four states, and off-CPU.
public enum SortState: String, CaseIterable, Sendable {
    case onCPU = "on-cpu"
    case runnable
    case sleep
    case blocked
    case offCPU = "off-cpu"

    /// The four states of the report, in its order.
    public static let states: [SortState] = [.onCPU, .runnable, .sleep, .blocked]

    public func value(_ t: StateTimes) -> UInt64 {
        switch self {
        case .onCPU: t.onCPU
        case .runnable: t.runnable
        case .sleep: t.sleep
        case .blocked: t.blocked
        case .offCPU: t.offCPU
        }
    }

    public var title: String {
        switch self {
        case .onCPU: "on-CPU"
        case .runnable: "runnable"
        case .sleep: "sleep"
        case .blocked: "blocked"
        case .offCPU: "off-CPU"
        }
    }
}

/// One thread's time in one interval of a live view.
public struct ThreadDelta: Equatable, Sendable {
    public var tid: Int32
    public var tgid: Int32
    public var comm: String
    /// When this life of the thread began being traced (with `tid`, it names the life).
    public var startNs: UInt64
    public var times: StateTimes
    /// Began being traced during the interval (born, or moved into the cgroup).
    public var new: Bool
    /// Exited, or left the cgroup, during the interval: this is its last delta.
    public var ended: Bool

    public init(tid: Int32, tgid: Int32, comm: String, startNs: UInt64, times: StateTimes, new: Bool, ended: Bool) {
        self.tid = tid
        self.tgid = tgid
        self.comm = comm
        self.startNs = startNs
        self.times = times
        self.new = new
        self.ended = ended
    }
}

/// One process's time in one interval: the sum over its threads' deltas.
public struct ProcessDelta: Equatable, Sendable {
    public var pid: Int32
    public var comm: String
    public var threads: Int
    public var times: StateTimes

    public init(pid: Int32, comm: String, threads: Int, times: StateTimes) {
        self.pid = pid
        self.comm = comm
        self.threads = threads
        self.times = times
    }
}

/// Turns cumulative per-thread records, taken one after the other while tracing (the dump
/// iterator's live look, the exit records), into per-interval deltas.
///
/// Per thread life (tid, start): each state's delta is what its cumulative time grew by since
/// the previous snapshot, counting a thread born in the interval from zero. The kernel side's
/// sums only grow; after the kernel's clocks are applied (`KernelClocks.reconcile`), sleep and
/// blocked share what is left of the window in the tracepoints' proportions, which can shrink a
/// state by a few µs from one look to the next: a delta is never negative, the shortfall is taken
/// from the next growth instead. So the deltas of a thread summed over all intervals equal its
/// last cumulative record — the whole-window report's when the last snapshot is the final
/// report — except where a state ended below an earlier look (µs).
public struct IntervalDeltas: Sendable {
    struct Key: Hashable { let tid: Int32; let startNs: UInt64 }
    /// Per thread life: what the deltas so far add up to.
    private var reported: [Key: StateTimes] = [:]
    /// Thread lives whose end (exit, leaving the cgroup) was reported.
    private var ended: Set<Key> = []

    public init() {}

    /// The deltas since the previous call, for every thread traced at some moment of the
    /// interval: live ones (also with nothing to add), and those that ended in it.
    public mutating func next(_ records: [ThreadRecord]) -> [ThreadDelta] {
        var out: [ThreadDelta] = []
        out.reserveCapacity(records.count)
        for r in records {
            let key = Key(tid: r.tid, startNs: r.startNs)
            if ended.contains(key) { continue }
            let before = reported[key]
            var delta = StateTimes()
            var now = before ?? StateTimes()
            for s in ThreadState.allCases where r.times[s] > now[s] {
                delta[s] = r.times[s] - now[s]
                now[s] = r.times[s]
            }
            reported[key] = now
            let end = r.exited || r.left
            if end { ended.insert(key) }
            out.append(ThreadDelta(tid: r.tid, tgid: r.tgid, comm: r.comm, startNs: r.startNs, times: delta,
                                   new: before == nil && (r.born || r.joined),
                                   ended: end))
        }
        return out
    }

    /// The deltas per process (each process's comm from `names`, else its main thread's or
    /// first thread's), in no particular order.
    public static func processes(_ threads: [ThreadDelta], names: [Int32: String] = [:]) -> [ProcessDelta] {
        var byPid: [Int32: ProcessDelta] = [:]
        for t in threads {
            var p = byPid[t.tgid] ?? ProcessDelta(pid: t.tgid, comm: names[t.tgid] ?? t.comm, threads: 0, times: StateTimes())
            if t.tid == t.tgid && names[t.tgid] == nil { p.comm = t.comm }
            p.threads += 1
            p.times += t.times
            byPid[t.tgid] = p
        }
        return Array(byPid.values)
    }
}
