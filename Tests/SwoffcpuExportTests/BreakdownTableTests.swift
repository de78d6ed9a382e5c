import Testing
import SwoffcpuCore
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

/// Lines of a rendered table, without the final empty one.
private func lines(_ text: String) -> [String] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    return lines
}

private func line(_ text: String, startingWith prefix: String) -> String? {
    lines(text).first { $0.hasPrefix(prefix) }
}

/// A report built to stress the layout: longest comms, wide and hostile characters, the biggest
/// tids, a window of days, many processes, huge lost counts.
private func stressReport() -> TraceReport {
    let start: UInt64 = 3_000_000_000_000_000
    let window: UInt64 = 9 * 86_400 * 1_000_000_000 + 123_456_789 // 9 days
    let comms = ["abcdefghijklmno", "数据库写入线程非常长的名字", "\u{1B}[2J\u{1B}[31mevil\nname\t",
                 "emoji🧵🧵🧵🧵🧵🧵🧵🧵", "x", ""]
    var processes: [ProcessReport] = []
    for p in 0..<30 {
        let pid = Int32.max - Int32(p)
        var threads: [ThreadRecord] = []
        for (i, comm) in comms.enumerated() {
            let q = window / 5
            threads.append(ThreadRecord(
                tid: pid - Int32(i), tgid: pid, comm: comm, startNs: start, endNs: start + window,
                times: StateTimes(onCPU: q + window % 5, runnable: q, sleepInterruptible: q,
                                  sleepUninterruptible: q, blocked: q),
                switches: .max, wakeups: .max, seeded: true, exited: i % 2 == 0))
        }
        processes.append(ProcessReport(pid: pid, comm: String(repeating: "very-long-process-name-", count: 5),
                                       exited: p % 3 == 0, threads: threads))
    }
    return TraceReport(windowStartNs: start, windowEndNs: start + window, processes: processes,
                       lost: LostCounts(untracedThreads: .max, exitRecordsDropped: .max,
                                        exitRecordsDroppedNs: 200 * 365 * 86_400 * 1_000_000_000))
}

@Suite("BreakdownTable")
struct BreakdownTableTests {
    /// Checks that every line fits in 100 columns, with and without colour and thread collapsing,
    /// for long and wide comms, the largest tids, a window of days and huge lost counts; and that
    /// no control character from a comm reaches the terminal.
    @Test(arguments: [false, true], [nil, 1, 3])
    func fitsHundredColumns(color: Bool, maxThreads: Int?) {
        let text = BreakdownTable(color: color, maxThreadsPerProcess: maxThreads).render(stressReport())
        for line in lines(text) {
            let plain = TerminalText.stripANSI(line)
            #expect(TerminalText.width(plain) <= BreakdownTable.maxLineWidth, "\(plain)")
            #expect(!plain.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(plain)")
        }
        #expect(text.contains("LOST:"))
    }

    /// Checks that a long custom target description is cut to fit the header line.
    @Test func longTargetFits() {
        let target = String(repeating: "pid 12345 (some-name), ", count: 20)
        let header = lines(BreakdownTable(target: target).render(ReportFixtures.sample))[0]
        #expect(TerminalText.width(header) <= BreakdownTable.maxLineWidth)
        #expect(header.hasPrefix("swoffcpu: 5.00s window, 5 threads; target: pid 12345 (some-name)"))
        #expect(header.hasSuffix("…"))
    }

    /// Checks the header: window length and the traced processes, or "and N more" when they do
    /// not all fit.
    @Test func headerNamesWindowAndTarget() {
        let header = lines(BreakdownTable().render(ReportFixtures.sample))[0]
        #expect(header == "swoffcpu: 5.00s window, 5 threads; target: pid 4242 (server), pid 99 (helper)")
        let many = lines(BreakdownTable().render(stressReport()))[0]
        #expect(many == "swoffcpu: 216h window, 180 threads; target: pid 2147483647 (very-long-proce…) and 29 more")
    }

    /// Checks a thread row: its time and share of its window in each state, the sleep column
    /// including the D part that "of which D" repeats, "-" for none.
    @Test func threadRowShowsTimesAndShares() throws {
        let text = BreakdownTable().render(ReportFixtures.sample)
        let worker = try #require(line(text, startingWith: "worker-1 "))
        let cells = worker.split(separator: " ").map(String.init)
        #expect(cells == ["worker-1", "4243", "11.8ms", "0.2%", "1.20ms", "<0.1%", "4.50s", "90.0%",
                          "500ms", "10.0%", "487ms", "9.7%"])
        let blocked = try #require(line(text, startingWith: "worker-2 "))
        #expect(blocked.split(separator: " ").map(String.init)
                == ["worker-2", "4244", "100ms", "2.0%", "30.0µs", "<0.1%", "-", "-", "4.90s", "98.0%"])
    }

    /// Checks that an exited thread is flagged "x", a legend explains the flags, exited processes
    /// say so, and each process has a total row with shares of its summed thread-time.
    @Test func exitedMarksAndTotals() throws {
        let text = BreakdownTable().render(ReportFixtures.sample)
        let short = try #require(line(text, startingWith: "short-lived "))
        #expect(short.split(separator: " ").prefix(3) == ["short-lived", "4250", "x"])
        #expect(!(try #require(line(text, startingWith: "worker-1 "))).contains(" x "))
        #expect(text.contains("x: exited during the window"))
        #expect(text.contains("pid 99 helper (exited 5.00s into the window), 1 thread\n"))
        #expect(text.contains("pid 4242 server, 4 threads\n"))
        let totals = lines(text).filter { $0.hasPrefix("= total") }
        #expect(totals.count == 2)
        // 4242: 15.002 s of thread-time, 9.500999 s of it asleep.
        #expect(totals[0].split(separator: " ").map(String.init)
                == ["=", "total", "113ms", "0.8%", "1.24ms", "<0.1%", "9.50s", "63.3%", "500ms", "3.3%", "5.39s", "35.9%"])
    }

    /// Checks that `maxThreadsPerProcess` keeps the first threads and sums the others into one
    /// "… N more threads" row, while the total row still covers every thread.
    @Test func collapsesExtraThreads() throws {
        let text = BreakdownTable(maxThreadsPerProcess: 2).render(ReportFixtures.sample)
        #expect(line(text, startingWith: "server ") == nil)
        #expect(line(text, startingWith: "short-lived ") == nil)
        let more = try #require(line(text, startingWith: "… 2 more threads"))
        // server (1 µs on, 4.999999 s asleep) + short-lived (988 µs on, 12.3 µs runnable, 1 ms asleep)
        #expect(more.split(separator: " ").map(String.init)
                == ["…", "2", "more", "threads", "989µs", "<0.1%", "12.3µs", "<0.1%", "5.00s", ">99.9%", "-", "-"])
        let totals = lines(text).filter { $0.hasPrefix("= total") }
        #expect(totals.first?.contains("9.50s") == true)
        let none = BreakdownTable(maxThreadsPerProcess: 0).render(ReportFixtures.sample)
        #expect(none.contains("… 4 more threads") && none.contains("… 1 more thread "))
    }

    /// Checks that lost counts are shown whenever nonzero, even with no process, and not otherwise.
    @Test func lostCountsShown() {
        var report = ReportFixtures.sample
        #expect(!BreakdownTable().render(report).contains("LOST"))
        report.lost = LostCounts(exitRecordsDropped: 3, exitRecordsDroppedNs: 1_500_000_000)
        let text = BreakdownTable().render(report)
        #expect(text.contains("LOST: 3 exit records dropped (ring buffer full): 1.50s of thread-time missing"))
        #expect(!text.contains("not traced"))
        let empty = TraceReport(windowStartNs: 0, windowEndNs: 10, processes: [],
                                lost: LostCounts(untracedThreads: 1))
        let emptyText = BreakdownTable().render(empty)
        #expect(emptyText.contains("LOST: 1 thread not traced"))
        #expect(emptyText.contains("target: none"))
        // Recovered switches are a note, not a loss.
        report.lost = LostCounts(switchesRecovered: 2)
        let recovered = BreakdownTable().render(report)
        #expect(recovered.contains("note: 2 context switches not seen by the BPF programs") && !recovered.contains("LOST"))
    }

    /// Checks that a target process without any thread record is still listed, as such.
    @Test func processWithoutThreads() {
        let report = TraceReport(windowStartNs: 0, windowEndNs: 10, processes: [
            ProcessReport(pid: 7, comm: "", exited: true, threads: []),
        ], lost: LostCounts())
        #expect(BreakdownTable().render(report).contains("pid 7 ? (exited): no thread traced"))
    }

    /// Checks that colour adds ANSI escapes around cells only: stripped, it is the plain table.
    @Test func colourIsOptional() {
        let plain = BreakdownTable(color: false).render(ReportFixtures.sample)
        let coloured = BreakdownTable(color: true).render(ReportFixtures.sample)
        #expect(!plain.contains("\u{1B}"))
        #expect(coloured.contains("\u{1B}[32m"))
        #expect(TerminalText.stripANSI(coloured) == plain)
    }

    /// Checks the terminal text helpers: widths of wide and combining characters, truncation with
    /// an ellipsis, and control characters made harmless.
    @Test func terminalText() {
        #expect(TerminalText.width("abc") == 3)
        #expect(TerminalText.width("数据") == 4)
        #expect(TerminalText.width("e\u{301}") == 1)
        #expect(TerminalText.width("\u{1B}[31mred\u{1B}[0m") == 3)
        #expect(TerminalText.truncate("abcdefgh", to: 5) == "abcd…")
        #expect(TerminalText.truncate("数据库线程", to: 6) == "数据…")
        #expect(TerminalText.truncate("abc", to: 3) == "abc")
        #expect(TerminalText.sanitize("a\u{1B}[2Jb\nc\u{7F}") == "a?[2Jb?c?")
    }
}

@Suite("BreakdownTable: short-lived threads")
struct BreakdownTableShortLivedTests {
    /// A server whose requests each ran on a thread of their own (like python3 -m http.server).
    static var report: TraceReport {
        var threads = [ReportFixtures.thread(10, tgid: 10, comm: "python3", sleep: 5_000_000_000)]
        for i in 0..<267 {
            threads.append(ReportFixtures.thread(100 + Int32(i), tgid: 10, comm: "python3", runnable: 1_000, sleep: 2_000_000,
                                                 startOffset: UInt64(i) * 10_000_000, length: 3_000_000,
                                                 exited: true, born: true))
        }
        threads.append(ReportFixtures.thread(999, tgid: 10, comm: "lonely", sleep: 1_000, startOffset: 1_000,
                                             length: 2_000, exited: true, born: true))
        return TraceReport(windowStartNs: ReportFixtures.start, windowEndNs: ReportFixtures.start + ReportFixtures.window,
                           processes: [ProcessReport(pid: 10, comm: "python3", exited: false, threads: threads)],
                           lost: LostCounts())
    }

    /// Checks that threads of one name, each born and exited in the window, share one row with
    /// their summed times, that a single such thread keeps its own row, and that the footnote
    /// says how to list them.
    @Test func groupedIntoOneRow() throws {
        let text = BreakdownTable(maxThreadsPerProcess: 40).render(Self.report)
        let rows = text.split(separator: "\n").map(String.init)
        let group = try #require(rows.first { $0.hasPrefix("python3 ×267") })
        #expect(group.contains(" * "))
        // 267 × 3 ms of lifetime, 2 ms of it asleep each.
        #expect(group.contains("534ms  66.7%"), "\(group)")
        #expect(rows.contains { $0.hasPrefix("lonely") && $0.contains("999 x") })
        #expect(rows.filter { $0.hasPrefix("python3 ") }.count == 2, "the main thread and the group")
        #expect(text.contains("*: N threads of one name, each created and exited in the window (--threads all lists them)"))
        #expect(rows.allSatisfy { TerminalText.width($0) <= BreakdownTable.maxLineWidth })
        let all = BreakdownTable(groupShortLived: false).render(Self.report)
        #expect(all.split(separator: "\n").filter { $0.hasPrefix("python3 ") }.count == 268)
        #expect(!all.contains("×"))
    }
}
