/// Turns the kernel side's records into a `TraceReport`.
///
/// Inputs: the window, the seed iterator's records, the ring buffer's exit records, the dump
/// iterator's records of live threads, process names, the pids known to have exited, and the
/// lost counts. Rules:
///
/// - A thread's record is its exit record or its dump record. Both can exist for one thread
///   (it exited after the window end, between the end and the dump: same numbers, not exited);
///   records are deduplicated by (tid, startNs), preferring one marked exited, then the longer.
/// - Seed records only tell which threads were traced (and a main thread's comm as a last
///   resort): a seeded thread with neither an exit nor a dump record (its exit record was
///   dropped, which `LostCounts` already counts) is left out.
/// - Threads are grouped by tgid. Processes come in `targetPids` order (each target listed, even
///   with no thread record, so a target that yielded nothing shows as such), then any other tgid
///   that has threads, by pid. A process's comm is `processNames[pid]`,
///   else the comm of its thread tid == pid, else "". It is `exited` iff its pid is in `exitedPids`.
/// - Threads within a process: most off-CPU time first, then by tid, then by start.
public struct ReportBuilder: Sendable {
    public var windowStartNs: UInt64
    public var windowEndNs: UInt64
    /// The traced pids in the order the user gave them.
    public var targetPids: [Int32]
    public var seeds: [ThreadRecord]
    public var exits: [ThreadRecord]
    public var dump: [ThreadRecord]
    /// Process names by pid (e.g. from /proc/PID/comm read at attach).
    public var processNames: [Int32: String]
    /// Pids known to have exited by the window end.
    public var exitedPids: Set<Int32>
    public var lost: LostCounts

    public init(windowStartNs: UInt64, windowEndNs: UInt64, targetPids: [Int32] = [],
                seeds: [ThreadRecord] = [], exits: [ThreadRecord] = [], dump: [ThreadRecord] = [],
                processNames: [Int32: String] = [:], exitedPids: Set<Int32> = [],
                lost: LostCounts = LostCounts()) {
        self.windowStartNs = windowStartNs
        self.windowEndNs = windowEndNs
        self.targetPids = targetPids
        self.seeds = seeds
        self.exits = exits
        self.dump = dump
        self.processNames = processNames
        self.exitedPids = exitedPids
        self.lost = lost
    }

    /// The report. Pure: the same inputs give the same report.
    public func build() -> TraceReport {
        let threads = Self.dedupe(exits + dump)

        var byPid: [Int32: [ThreadRecord]] = [:]
        for thread in threads { byPid[thread.tgid, default: []].append(thread) }

        var order: [Int32] = []
        var listed = Set<Int32>()
        for pid in targetPids where listed.insert(pid).inserted {
            order.append(pid)
        }
        for pid in byPid.keys.sorted() where listed.insert(pid).inserted {
            order.append(pid)
        }

        let processes = order.map { pid in
            let members = (byPid[pid] ?? []).sorted(by: Self.threadOrder)
            return ProcessReport(pid: pid, comm: comm(of: pid, threads: members),
                                 exited: exitedPids.contains(pid), threads: members)
        }
        return TraceReport(windowStartNs: windowStartNs, windowEndNs: windowEndNs,
                           processes: processes, lost: lost)
    }

    /// One record per (tid, startNs), in first-seen order.
    static func dedupe(_ records: [ThreadRecord]) -> [ThreadRecord] {
        struct Key: Hashable { let tid: Int32; let startNs: UInt64 }
        var index: [Key: Int] = [:]
        var kept: [ThreadRecord] = []
        for record in records {
            let key = Key(tid: record.tid, startNs: record.startNs)
            if let i = index[key] {
                if prefer(record, over: kept[i]) { kept[i] = record }
            } else {
                index[key] = kept.count
                kept.append(record)
            }
        }
        return kept
    }

    /// Of two records of one thread life: the one marked exited, else the one ending later.
    private static func prefer(_ a: ThreadRecord, over b: ThreadRecord) -> Bool {
        if a.exited != b.exited { return a.exited }
        return a.endNs > b.endNs
    }

    /// Most off-CPU time first, then tid, then start.
    static func threadOrder(_ a: ThreadRecord, _ b: ThreadRecord) -> Bool {
        let (offA, offB) = (a.times.offCPU, b.times.offCPU)
        if offA != offB { return offA > offB }
        return (a.tid, a.startNs) < (b.tid, b.startNs)
    }

    private func comm(of pid: Int32, threads: [ThreadRecord]) -> String {
        if let name = processNames[pid] { return name }
        let latest = { (records: [ThreadRecord]) in
            records.filter { $0.tid == pid }.max { $0.endNs < $1.endNs }?.comm
        }
        return latest(threads) ?? latest(seeds.filter { $0.tgid == pid }) ?? ""
    }
}

/// Something wrong with a report: the accounting invariants that must hold for every thread.
public enum ReportProblem: Equatable, Sendable, CustomStringConvertible {
    /// The thread's state times do not add up to its time in the window.
    case timesDoNotSum(tid: Int32, startNs: UInt64, total: UInt64, windowNs: UInt64)
    /// The thread's interval is not inside the trace window, or ends before it starts.
    case outsideWindow(tid: Int32, startNs: UInt64, endNs: UInt64)
    /// A thread not marked exited does not end at the window end.
    case liveThreadEndsEarly(tid: Int32, startNs: UInt64, endNs: UInt64)
    /// A thread is listed under a process other than its tgid.
    case wrongProcess(tid: Int32, tgid: Int32, pid: Int32)
    /// Two records of one thread life (same tid and start).
    case duplicate(tid: Int32, startNs: UInt64)
    /// Two processes with one pid.
    case duplicateProcess(pid: Int32)

    public var description: String {
        switch self {
        case let .timesDoNotSum(tid, start, total, window):
            "thread \(tid) (start \(start)): states sum to \(total) ns, window is \(window) ns"
        case let .outsideWindow(tid, start, end):
            "thread \(tid): interval \(start)...\(end) is not inside the trace window"
        case let .liveThreadEndsEarly(tid, start, end):
            "thread \(tid) (start \(start)): not exited but ends at \(end), before the window end"
        case let .wrongProcess(tid, tgid, pid):
            "thread \(tid) of process \(tgid) listed under process \(pid)"
        case let .duplicate(tid, start):
            "thread \(tid) (start \(start)) listed twice"
        case let .duplicateProcess(pid):
            "process \(pid) listed twice"
        }
    }
}

extension ReportBuilder {
    /// Every broken invariant of `report`; empty when it is sound. For tests and self-checks:
    /// each thread's states sum to its time in the window (`times.total == endNs - startNs`),
    /// its interval lies inside the window, a live thread ends at the window end, threads sit
    /// under their own process, and nothing is listed twice.
    public static func validate(_ report: TraceReport) -> [ReportProblem] {
        var problems: [ReportProblem] = []
        struct Key: Hashable { let tid: Int32; let startNs: UInt64 }
        var seen = Set<Key>()
        var pids = Set<Int32>()
        for process in report.processes {
            if !pids.insert(process.pid).inserted { problems.append(.duplicateProcess(pid: process.pid)) }
            for t in process.threads {
                if t.tgid != process.pid {
                    problems.append(.wrongProcess(tid: t.tid, tgid: t.tgid, pid: process.pid))
                }
                if !seen.insert(Key(tid: t.tid, startNs: t.startNs)).inserted {
                    problems.append(.duplicate(tid: t.tid, startNs: t.startNs))
                }
                if t.startNs > t.endNs || t.startNs < report.windowStartNs || t.endNs > report.windowEndNs {
                    problems.append(.outsideWindow(tid: t.tid, startNs: t.startNs, endNs: t.endNs))
                } else if !t.exited && !t.left && t.endNs != report.windowEndNs {
                    problems.append(.liveThreadEndsEarly(tid: t.tid, startNs: t.startNs, endNs: t.endNs))
                }
                let (total, overflow) = t.times.sumReportingOverflow
                if overflow || total != t.windowNs || t.startNs > t.endNs {
                    problems.append(.timesDoNotSum(tid: t.tid, startNs: t.startNs,
                                                   total: overflow ? .max : total, windowNs: t.windowNs))
                }
            }
        }
        return problems
    }
}

extension StateTimes {
    /// The sum of all states, and whether it overflowed (`total` would trap).
    public var sumReportingOverflow: (total: UInt64, overflow: Bool) {
        var sum: UInt64 = 0
        for state in ThreadState.allCases {
            let (next, overflow) = sum.addingReportingOverflow(self[state])
            if overflow { return (.max, true) }
            sum = next
        }
        return (sum, false)
    }
}
