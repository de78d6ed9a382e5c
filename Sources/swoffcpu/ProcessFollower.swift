import SwoffcpuBPF
import SwoffcpuCore
import SwoffcpuResolve
import SwoffcpuSystem

/// The process tree while tracing (--follow, `-- COMMAND`): births, execs and exits from the
/// kernel side (bpf/follow.bpf.h), and each new process's symbols (or new image's, after an
/// exec) taken as soon as it is heard of, while it lives.
struct ProcessFollower {
    private(set) var lineage: [Int32: ProcessLineage] = [:]
    /// The comm of each process's latest exec.
    private var execComm: [Int32: String] = [:]
    /// Processes born in the window and not yet exited.
    private(set) var alive: Set<Int32> = []
    /// Processes whose exit was seen.
    private(set) var exited: Set<Int32> = []
    private(set) var births = 0
    private(set) var execs = 0

    /// The targets as they are now (parent, command line), the command's marked.
    init(targets: [Int32], command: CommandLaunch?) {
        for pid in targets {
            var l = ProcessLineage(ppid: Self.parent(of: pid), arguments: Self.arguments(of: pid))
            if let command, command.pid == pid {
                l.arguments = command.arguments
                l.isCommand = true
            }
            lineage[pid] = l
        }
    }

    /// Applies the events since the last call; snapshots new processes and images.
    mutating func consume(_ events: [ProcessEvent], resolver: inout StackResolver?) {
        for e in events {
            switch e.kind {
            case .fork:
                births += 1
                alive.insert(e.pid)
                exited.remove(e.pid) // a reused pid
                lineage[e.pid] = ProcessLineage(ppid: e.ppid, bornNs: e.timeNs)
                execComm[e.pid] = nil
                // A copy of its parent's image: the same mappings, at the same addresses.
                resolver?.snapshot(pid: e.pid)
            case .exec:
                execs += 1
                var l = lineage[e.pid] ?? ProcessLineage(ppid: e.ppid)
                if !e.arguments.isEmpty {
                    l.arguments = e.arguments
                    l.argumentsTruncated = e.argumentsTruncated
                }
                lineage[e.pid] = l
                execComm[e.pid] = e.comm
                resolver?.snapshot(pid: e.pid, afterExec: true)
            case .exit:
                alive.remove(e.pid)
                exited.insert(e.pid)
                var l = lineage[e.pid] ?? ProcessLineage(ppid: e.ppid)
                l.exitNs = e.timeNs
                l.exitStatus = e.exitStatus
                lineage[e.pid] = l
            }
        }
    }

    /// Puts the lineage into the report: each process's parent, command line and exit, its
    /// comm after an exec, and the processes in tree order (each parent before its children).
    func apply(to report: inout TraceReport, commandStatus: WaitStatus?, commandPid: Int32?) {
        for i in report.processes.indices {
            let pid = report.processes[i].pid
            guard var l = lineage[pid] else { continue }
            if pid == commandPid, let commandStatus, l.exitStatus == nil { l.exitStatus = commandStatus.raw }
            if let comm = execComm[pid] { report.processes[i].comm = comm }
            if exited.contains(pid) || l.exitStatus != nil { report.processes[i].exited = true }
            report.processes[i].lineage = l
        }
        report.processes = report.processTree().map(\.process)
    }

    /// The parent's pid (field 4 of /proc/PID/stat).
    static func parent(of pid: Int32) -> Int32? {
        guard let stat = ProcFS.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// /proc/PID/cmdline, split at its NULs; nil if unreadable or empty (a kernel thread).
    static func arguments(of pid: Int32) -> [String]? {
        guard case .success(let bytes) = ProcFS.readBytes("/proc/\(pid)/cmdline", limit: 1 << 16), !bytes.isEmpty
        else { return nil }
        var args = bytes.split(separator: 0, omittingEmptySubsequences: false)
        if args.last?.isEmpty == true { args.removeLast() }
        return args.map { String(decoding: $0, as: UTF8.self) }
    }
}
