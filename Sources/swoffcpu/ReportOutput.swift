import SwoffcpuCore
import Glibc

/// Writes the report: the table to stdout, JSON where asked.
struct ReportOutput {
    let options: OutputOptions

    func write(_ report: TraceReport) throws {
        // Interim rendering until SwoffcpuExport's table and JSON land.
        var out = "window \(report.windowNs) ns\n"
        for p in report.processes {
            for t in p.threads {
                out += "\(p.pid) \(t.tid) \(t.comm) on=\(t.times.onCPU) rq=\(t.times.runnable) sleep=\(t.times.sleep) blocked=\(t.times.blocked) exited=\(t.exited)\n"
            }
        }
        print(out, terminator: "")
    }
}
