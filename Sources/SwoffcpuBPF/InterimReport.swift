import SwoffcpuCore
// Interim merge until SwoffcpuCore's ReportBuilder lands.
enum InterimReport {
    static func build(windowStartNs: UInt64, windowEndNs: UInt64, targets: [Int32],
                      seeds: [ThreadRecord], exits: [ThreadRecord], live: [ThreadRecord],
                      processNames: [Int32: String], exitedPids: Set<Int32>,
                      lost: LostCounts) -> TraceReport {
        var byKey: [String: ThreadRecord] = [:]
        for r in live + exits { byKey["\(r.tid)/\(r.startNs)"] = byKey["\(r.tid)/\(r.startNs)"] ?? r }
        var procs: [ProcessReport] = []
        for t in targets {
            let threads = byKey.values.filter { $0.tgid == t }.sorted { $0.times.offCPU > $1.times.offCPU }
            procs.append(ProcessReport(pid: t, comm: processNames[t] ?? "?", exited: exitedPids.contains(t), threads: threads))
        }
        return TraceReport(windowStartNs: windowStartNs, windowEndNs: windowEndNs, processes: procs, lost: lost)
    }
}
