import SwoffcpuCore

/// The top processes and threads by a state: the report of `-a` (every task of the machine)
/// and each frame of the live view (`--interval`).
///
/// ```
///     PID   THR COMM                 on-CPU         runnable            sleep          blocked
///    4242     5 server          2.01s 100.5%   120ms   6.0%   7.80s 390.0%      0    0.0%
///
///     PID   TID COMM                 on-CPU         runnable            sleep          blocked
///    4242  4243 worker-1        1.00s  50.0%  60.0ms   3.0%    940ms  47.0%      0    0.0%
/// ```
///
/// Each state's time, and its share of the span (the window, or the interval): for a thread
/// at most 100 %, for a process the sum over its threads, so 2 threads on CPU all along are
/// 200 % (as `top` shows a process's CPU). "sleep" includes uninterruptible sleep.
public struct TopTable: Sendable {
    /// Rows per table.
    public var top: Int

    public init(top: Int) {
        self.top = max(top, 1)
    }

    /// Each state's title right-aligned over its time and share (17 columns).
    static let header = SortState.states.map { pad($0.title, 17) }.joined()

    /// The report of a whole window (`-a`): for each state of `sorts`, the top processes
    /// and the top threads by it.
    public func render(_ report: TraceReport, sorts: [SortState], title: String) -> String {
        let threads = report.processes.flatMap { p in
            p.threads.map { t in
                ThreadDelta(tid: t.tid, tgid: t.tgid, comm: t.comm, startNs: t.startNs, times: t.times,
                            new: t.born || t.joined, ended: t.exited || t.left)
            }
        }
        var processes = report.processes.map { p in
            ProcessDelta(pid: p.pid, comm: p.comm, threads: p.threads.count, times: p.times)
        }
        processes.removeAll { $0.threads == 0 }
        var lines = [title]
        for sort in sorts {
            lines.append("")
            lines.append("Top \(min(top, processes.count)) of \(processes.count) processes by \(sort.title):")
            lines += processRows(processes, sort: sort, spanNs: report.windowNs, limit: top)
            lines.append("")
            lines.append("Top \(min(top, threads.count)) of \(threads.count) threads by \(sort.title):")
            lines += threadRows(threads, sort: sort, spanNs: report.windowNs, limit: top)
        }
        if threads.contains(where: { $0.new || $0.ended }) {
            lines.append("")
            lines.append("+: created (or moved in) during the window   x: exited (or moved out) during it")
        }
        if report.lost.untracedThreads > 0 {
            lines.append("")
            lines.append("LOST: \(report.lost.untracedThreads) threads not traced (no task storage)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Header and rows of the processes with the most `sort` time.
    public func processRows(_ rows: [ProcessDelta], sort: SortState, spanNs: UInt64, limit: Int) -> [String] {
        let sorted = rows.sorted { a, b in
            Self.order(sort.value(a.times), sort.value(b.times), a.times, b.times) ?? (a.pid < b.pid)
        }
        return ["    PID   THR COMM           " + Self.header]
            + sorted.prefix(max(limit, 0)).map { p in
                Self.pad(p.pid, 7) + Self.pad(Int32(clamping: p.threads), 6) + " " + Self.name(p.comm)
                    + Self.states(p.times, spanNs: spanNs)
            }
    }

    /// Header and rows of the threads with the most `sort` time (`+` began being traced in the
    /// span, `x` ended in it: exited, or left the cgroup).
    public func threadRows(_ rows: [ThreadDelta], sort: SortState, spanNs: UInt64, limit: Int) -> [String] {
        let sorted = rows.sorted { a, b in
            Self.order(sort.value(a.times), sort.value(b.times), a.times, b.times) ?? ((a.tid, a.startNs) < (b.tid, b.startNs))
        }
        return ["    PID   TID COMM           " + Self.header]
            + sorted.prefix(max(limit, 0)).map { t in
                Self.pad(t.tgid, 7) + Self.pad(t.tid, 6) + (t.ended ? "x" : t.new ? "+" : " ") + Self.name(t.comm)
                    + Self.states(t.times, spanNs: spanNs)
            }
    }

    /// More of the sorted state first, then more time in total (nil: equal).
    private static func order(_ a: UInt64, _ b: UInt64, _ ta: StateTimes, _ tb: StateTimes) -> Bool? {
        if a != b { return a > b }
        if ta.total != tb.total { return ta.total > tb.total }
        return nil
    }

    private static func name(_ comm: String) -> String {
        let clean = TerminalText.truncate(TerminalText.sanitize(comm), to: 15)
        return clean + String(repeating: " ", count: max(0, 15 - TerminalText.width(clean)))
    }

    private static func pad(_ v: Int32, _ width: Int) -> String { pad("\(v)", width) }

    private static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - TerminalText.width(s))) + s
    }

    private static func states(_ t: StateTimes, spanNs: UInt64) -> String {
        [t.onCPU, t.runnable, t.sleep, t.blocked].map { v in
            pad(DurationFormat.format(ns: v), 8) + pad(percent(v, of: spanNs), 9)
        }.joined()
    }

    /// One decimal, above 100 % for a process's several threads.
    static func percent(_ part: UInt64, of whole: UInt64) -> String {
        guard whole > 0 else { return "-" }
        let tenths = UInt64((Double(part) * 1000 / Double(whole)).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}
