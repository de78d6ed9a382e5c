import SwoffcpuCore
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

/// Reports to render in the export tests.
enum ReportFixtures {
    static let start: UInt64 = 1_000_000_000_000
    static let window: UInt64 = 5_000_000_000

    /// A sound thread record: the window split across the states as given, the rest on-CPU.
    static func thread(_ tid: Int32, tgid: Int32, comm: String, runnable: UInt64 = 0, sleep: UInt64 = 0,
                       sleepD: UInt64 = 0, blocked: UInt64 = 0, startOffset: UInt64 = 0,
                       length: UInt64? = nil, exited: Bool = false, born: Bool = false,
                       switches: UInt64 = 0, wakeups: UInt64 = 0) -> ThreadRecord {
        let begin = start + startOffset
        let end = length.map { begin + $0 } ?? start + window
        let off = runnable + sleep + sleepD + blocked
        return ThreadRecord(tid: tid, tgid: tgid, comm: comm, startNs: begin, endNs: end,
                            times: StateTimes(onCPU: end - begin - off, runnable: runnable,
                                              sleepInterruptible: sleep, sleepUninterruptible: sleepD,
                                              blocked: blocked),
                            switches: switches, wakeups: wakeups, seeded: !born, born: born, exited: exited,
                            finalState: .sleep)
    }

    /// A server with a few threads of each kind, one born and exited, and a second process.
    static var sample: TraceReport {
        var server: [ThreadRecord] = [
            thread(4243, tgid: 4242, comm: "worker-1", runnable: 1_200_000, sleep: 4_000_000_000,
                   sleepD: 500_000_000, blocked: 487_000_000, switches: 1_200, wakeups: 1_150),
            thread(4244, tgid: 4242, comm: "worker-2", runnable: 30_000, blocked: 4_900_000_000,
                   switches: 10, wakeups: 9),
            thread(4242, tgid: 4242, comm: "server", sleep: 4_999_999_000, switches: 3, wakeups: 3),
            thread(4250, tgid: 4242, comm: "short-lived", runnable: 12_345, sleep: 1_000_000,
                   startOffset: 1_000_000_000, length: 2_000_000, exited: true, born: true,
                   switches: 4, wakeups: 4),
        ]
        // On a VM: part of worker-1's on-CPU time was the hypervisor's (steal).
        server[0].stolenNs = 6_000_000
        let other = [thread(99, tgid: 99, comm: "helper", sleep: 2_500_000_000)]
        return TraceReport(windowStartNs: start, windowEndNs: start + window, processes: [
            ProcessReport(pid: 4242, comm: "server", exited: false, threads: server),
            ProcessReport(pid: 99, comm: "helper", exited: true, threads: other),
        ], lost: LostCounts())
    }
}
