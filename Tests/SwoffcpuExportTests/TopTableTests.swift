import SwoffcpuCore
import SwoffcpuExport
import Testing

@Suite("TopTable")
struct TopTableTests {
    func thread(_ tid: Int32, _ tgid: Int32, on: UInt64, blocked: UInt64) -> ThreadRecord {
        ThreadRecord(tid: tid, tgid: tgid, comm: "t\(tid)", startNs: 0, endNs: on + blocked,
                     times: StateTimes(onCPU: on, blocked: blocked))
    }

    @Test func topByEachState() {
        let report = TraceReport(windowStartNs: 0, windowEndNs: 1_000_000_000, processes: [
            ProcessReport(pid: 10, comm: "busy", exited: false, threads: [
                thread(10, 10, on: 1_000_000_000, blocked: 0), thread(11, 10, on: 1_000_000_000, blocked: 0)]),
            ProcessReport(pid: 20, comm: "locked", exited: false, threads: [thread(20, 20, on: 0, blocked: 1_000_000_000)]),
        ], lost: LostCounts())
        let text = TopTable(top: 1).render(report, sorts: [.onCPU, .blocked], title: "t")
        let lines = text.split(separator: "\n").map(String.init)
        // By on-CPU: the process of two spinning threads at 200 %, then one thread; by blocked: pid 20.
        let onCPU = lines.firstIndex { $0.hasPrefix("Top 1 of 2 processes by on-CPU") }!
        #expect(lines[onCPU + 2].contains("busy") && lines[onCPU + 2].contains("200.0%"))
        let blocked = lines.firstIndex { $0.hasPrefix("Top 1 of 3 threads by blocked") }!
        #expect(lines[blocked + 2].contains("t20") && lines[blocked + 2].contains("100.0%"))
        #expect(!text.contains("runnable:"), "only the states asked for")
    }
}
