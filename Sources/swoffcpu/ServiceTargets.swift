import SwoffcpuBPF
import SwoffcpuCore
import SwoffcpuExport
import SwoffcpuSystem

/// Symbol snapshots for --cgroup and -a, whose processes are not known in advance.
enum ServiceTargets {
    /// Processes whose symbols are taken before the window starts: the -p targets, and the
    /// cgroup's processes now. Not with -a: every process of the machine would cost seconds
    /// before the trace; their symbols are taken at the end (`laterPids`).
    static func snapshotPids(_ session: TraceSession) -> [Int32] {
        switch session.options.target {
        case .pids: session.tgids
        case .cgroup: session.options.target.processesNow(pids: [])
        case .all: []
        }
    }

    /// With --cgroup or -a: the processes of the report that are still alive at the end and
    /// have stacks (processes that exited in between keep [unknown] user frames).
    static func laterPids(_ report: TraceReport, _ session: TraceSession) -> [Int32] {
        guard session.options.target != .pids else { return [] }
        var withStacks = Set<Int32>()
        if let stacks = report.stacks {
            var tgidOf: [Int32: Int32] = [:]
            for p in report.processes { for t in p.threads { tgidOf[t.tid] = p.pid } }
            for e in stacks.entries { if let tgid = tgidOf[e.tid] { withStacks.insert(tgid) } }
        }
        return withStacks.sorted().filter { !ProcFS.hasExited($0) }
    }
}

extension ServiceTargets {
    /// What was traced, for the report's header and the flamegraph's title: nil for -p/-t
    /// (the report's processes say it).
    static func description(_ session: TraceSession, _ report: TraceReport) -> String? {
        let processes = report.processes.filter { !$0.threads.isEmpty }.count
        let threads = report.processes.reduce(0) { $0 + $1.threads.count }
        let counts = "\(processes) process\(processes == 1 ? "" : "es"), \(threads) thread\(threads == 1 ? "" : "s")"
        switch session.options.target {
        case .pids: return nil
        case .cgroup(let cgroup): return "cgroup \(TerminalText.sanitize(cgroup.path)) (\(counts))"
        case .all: return "every task (\(counts))"
        }
    }
}
