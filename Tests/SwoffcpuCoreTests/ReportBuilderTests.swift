import Testing
@testable import SwoffcpuCore
import SwoffcpuTestSupport

private let windowStart: UInt64 = 10_000
private let windowEnd: UInt64 = 20_000

/// A sound live record: `offCPU` ns asleep, the rest on-CPU.
private func rec(_ tid: Int32, tgid: Int32, comm: String = "t", start: UInt64 = windowStart,
                 end: UInt64 = windowEnd, offCPU: UInt64 = 0, exited: Bool = false) -> ThreadRecord {
    ThreadRecord(tid: tid, tgid: tgid, comm: comm, startNs: start, endNs: end,
                 times: StateTimes(onCPU: end - start - offCPU, sleepInterruptible: offCPU),
                 seeded: start == windowStart, born: start != windowStart, exited: exited)
}

private func seedRec(_ tid: Int32, tgid: Int32, comm: String = "t") -> ThreadRecord {
    ThreadRecord(tid: tid, tgid: tgid, comm: comm, startNs: windowStart, endNs: windowStart,
                 times: StateTimes(), seeded: true, finalState: .sleep)
}

@Suite("ReportBuilder")
struct ReportBuilderTests {
    /// Checks that a thread that exited after the window end, present both as an exit record and in
    /// the dump with identical numbers, is reported once.
    @Test func dedupesExitAfterWindowEndAgainstDump() {
        let late = rec(2, tgid: 1, offCPU: 300)
        let report = ReportBuilder(windowStartNs: windowStart, windowEndNs: windowEnd, targetPids: [1],
                                   exits: [late], dump: [rec(1, tgid: 1), late]).build()
        #expect(report.processes.count == 1)
        #expect(report.processes[0].threads.map(\.tid) == [2, 1])
        #expect(ReportBuilder.validate(report).isEmpty)
    }

    /// Checks that when two records of one thread life differ, the one marked exited is kept.
    @Test func dedupePrefersExited() {
        let exited = rec(2, tgid: 1, end: 15_000, offCPU: 100, exited: true)
        let report = ReportBuilder(windowStartNs: windowStart, windowEndNs: windowEnd,
                                   exits: [exited], dump: [rec(2, tgid: 1)]).build()
        #expect(report.processes[0].threads == [exited])
    }

    /// Checks that a tid reused within the window (two starts) gives two threads, not a dedupe.
    @Test func reusedTidKeepsBothLives() {
        let first = rec(5, tgid: 1, start: 11_000, end: 12_000, exited: true)
        let second = rec(5, tgid: 1, start: 13_000)
        let report = ReportBuilder(windowStartNs: windowStart, windowEndNs: windowEnd,
                                   exits: [first], dump: [second]).build()
        #expect(report.processes[0].threads.count == 2)
        #expect(ReportBuilder.validate(report).isEmpty)
    }

    /// Checks that a seeded thread with neither an exit nor a dump record (its exit record was
    /// dropped) is left out, and the lost counts are passed through untouched.
    @Test func seededThreadWithoutRecordIsLeftOut() {
        let lost = LostCounts(untracedThreads: 0, exitRecordsDropped: 1, exitRecordsDroppedNs: 4_000)
        let report = ReportBuilder(windowStartNs: windowStart, windowEndNs: windowEnd, targetPids: [1],
                                   seeds: [seedRec(1, tgid: 1), seedRec(2, tgid: 1)],
                                   dump: [rec(1, tgid: 1)], lost: lost).build()
        #expect(report.processes[0].threads.map(\.tid) == [1])
        #expect(report.lost == lost)
    }

    /// Checks grouping by tgid: targets in the caller's order (even one without threads), then the
    /// other processes by pid; threads by off-CPU time descending, then tid.
    @Test func groupsAndOrders() {
        let report = ReportBuilder(
            windowStartNs: windowStart, windowEndNs: windowEnd, targetPids: [30, 10, 40],
            dump: [rec(11, tgid: 10, offCPU: 50), rec(10, tgid: 10, offCPU: 500), rec(12, tgid: 10, offCPU: 50),
                   rec(21, tgid: 20), rec(20, tgid: 20), rec(30, tgid: 30), rec(5, tgid: 5)]
        ).build()
        #expect(report.processes.map(\.pid) == [30, 10, 40, 5, 20])
        #expect(report.processes[1].threads.map(\.tid) == [10, 11, 12])
        #expect(report.processes[2].threads.isEmpty)
        #expect(report.processes[4].threads.map(\.tid) == [20, 21])
        #expect(report.processes[1].times.sleepInterruptible == 600)
        #expect(ReportBuilder.validate(report).isEmpty)
    }

    /// Checks the process comm: the names map first, else the main thread's comm (dump or exit
    /// record, then seed record), else empty; and `exited` from the exited pids.
    @Test func processCommAndExited() {
        let report = ReportBuilder(
            windowStartNs: windowStart, windowEndNs: windowEnd, targetPids: [1, 2, 3, 4],
            seeds: [seedRec(3, tgid: 3, comm: "seeded-main")],
            exits: [rec(2, tgid: 2, comm: "main2", end: 12_000, exited: true)],
            dump: [rec(1, tgid: 1, comm: "thread-main"), rec(5, tgid: 2, comm: "worker"),
                   rec(6, tgid: 3, comm: "worker"), rec(7, tgid: 4, comm: "worker")],
            processNames: [1: "from-proc"], exitedPids: [2]
        ).build()
        #expect(report.processes.map(\.comm) == ["from-proc", "main2", "seeded-main", ""])
        #expect(report.processes.map(\.exited) == [false, true, false, false])
    }

    /// Checks that records from the Accountant model make a valid report end to end, with the
    /// duplicate an exit after the window end produces when the dump also saw the thread.
    @Test func endToEndWithAccountant() {
        var acct = Accountant(windowStart: windowStart)
        acct.apply([
            .seed(tid: 1, tgid: 1, comm: "app", state: .onCPU, at: windowStart),
            .fork(parentTid: 1, childTid: 2, at: 11_000),
            .switchIn(tid: 2, at: 11_500),
            .switchOut(tid: 2, at: 12_000, preempt: false, taskState: 1, inFutexWait: true),
            .fork(parentTid: 1, childTid: 3, at: 12_500),
            .exit(tid: 3, at: 13_000),
            .exit(tid: 2, at: 25_000), // after the end
        ])
        var outputs = acct.kernelOutputs(windowEnd: windowEnd)
        // The dump ran before thread 2's exit: it is in both streams.
        outputs.dump += outputs.exits.filter { !$0.exited }
        let report = ReportBuilder(windowStartNs: windowStart, windowEndNs: windowEnd, targetPids: [1],
                                   outputs: outputs).build()
        #expect(ReportBuilder.validate(report).isEmpty)
        let threads = report.processes[0].threads
        #expect(threads.map(\.tid) == [2, 3, 1])
        #expect(threads[0].times.blocked == 8_000 && !threads[0].exited)
        #expect(threads[1].exited && threads[1].endNs == 13_000)
        #expect(report.processes[0].comm == "app")
    }

    /// Checks that validate reports each broken invariant.
    @Test func validateFindsProblems() {
        var bad = rec(1, tgid: 1)
        bad.times.onCPU -= 1
        let outside = rec(2, tgid: 1, start: 9_000)
        let early = rec(3, tgid: 1, end: 19_000)
        let stray = rec(4, tgid: 7)
        let twice = rec(5, tgid: 1)
        let report = TraceReport(windowStartNs: windowStart, windowEndNs: windowEnd, processes: [
            ProcessReport(pid: 1, comm: "p", exited: false, threads: [bad, outside, early, stray, twice, twice]),
            ProcessReport(pid: 1, comm: "p", exited: false, threads: []),
        ], lost: LostCounts())
        let problems = ReportBuilder.validate(report)
        #expect(problems.contains(.timesDoNotSum(tid: 1, startNs: windowStart, total: 9_999, windowNs: 10_000)))
        #expect(problems.contains(.outsideWindow(tid: 2, startNs: 9_000, endNs: windowEnd)))
        #expect(problems.contains(.liveThreadEndsEarly(tid: 3, startNs: windowStart, endNs: 19_000)))
        #expect(problems.contains(.wrongProcess(tid: 4, tgid: 7, pid: 1)))
        #expect(problems.contains(.duplicate(tid: 5, startNs: windowStart)))
        #expect(problems.contains(.duplicateProcess(pid: 1)))
        #expect(problems.count == 6) // each broken record once: the others sum to their own window
        #expect(!problems.map(\.description).contains(""))
    }
}
