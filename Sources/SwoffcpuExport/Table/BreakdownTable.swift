import SwoffcpuCore

/// The report as a text table: for every thread, where its time in the window went.
///
/// ```
/// swoffcpu: 5.00s window, 5 threads; target: pid 4242 (server)
///                                   on-CPU       runnable          sleep     of which D        blocked
/// COMM                TID      time      %    time      %    time      %    time      %    time      %
///
/// pid 4242 server, 4 threads
/// worker-1           4243    11.8ms   0.2%  1.20ms  <0.1%   4.50s  90.0%   500ms  10.0%   487ms   9.7%
/// short-lived        4250 x   988µs  49.4%  12.3µs   0.6%  1.00ms  50.0%       -              -
/// = total                     113ms   0.8%  1.24ms  <0.1%   9.50s  63.3%   500ms   3.3%   5.39s  35.9%
/// ```
///
/// One row per thread (comm, tid, a flag: `x` exited in the window, `+` born in it), then per
/// state its time and its share of that thread's time in the window; "sleep" includes the
/// uninterruptible part, which "of which D" repeats. A total row per process, with shares of the
/// process's summed thread-time. Lost records are always shown when there are any.
/// Every line fits in `maxLineWidth` (100) columns. docs/report-table.md explains the columns.
public struct BreakdownTable: Sendable {
    /// Every line of the output is at most this many terminal columns wide.
    public static let maxLineWidth = 100

    /// ANSI colours (bold headers, one colour per state). Pass false when NO_COLOR is set or
    /// the output is not a terminal.
    public var color: Bool
    /// Show at most this many threads per process (those with the most off-CPU time); the rest
    /// are summed in one "… N more threads" row. nil: all.
    public var maxThreadsPerProcess: Int?
    /// What was traced, for the header ("pid 4242 (server)"). nil: the report's processes.
    public var target: String?
    /// Threads of one name that were born and exited in the window (a thread per request, say)
    /// shown as one row `name ×N` when there are at least two of them.
    public var groupShortLived: Bool

    public init(color: Bool = false, maxThreadsPerProcess: Int? = nil, target: String? = nil,
                groupShortLived: Bool = true) {
        self.color = color
        self.maxThreadsPerProcess = maxThreadsPerProcess
        self.target = target
        self.groupShortLived = groupShortLived
    }

    /// One row of a process: a thread, or short-lived threads of one name.
    private enum Row {
        case thread(ThreadRecord)
        case shortLived(comm: String, threads: [ThreadRecord])
    }

    /// The process's rows in its threads' order, each group where its first thread was.
    private func rows(_ threads: [ThreadRecord]) -> [Row] {
        guard groupShortLived else { return threads.map { .thread($0) } }
        var counts: [String: Int] = [:]
        for t in threads where t.born && t.exited { counts[t.comm, default: 0] += 1 }
        var groups: [String: [ThreadRecord]] = [:]
        var order: [Row] = []
        for t in threads {
            if t.born && t.exited && counts[t.comm, default: 0] >= 2 {
                if groups[t.comm] == nil { order.append(.shortLived(comm: t.comm, threads: [])) }
                groups[t.comm, default: []].append(t)
            } else {
                order.append(.thread(t))
            }
        }
        return order.map {
            if case .shortLived(let comm, _) = $0 { return .shortLived(comm: comm, threads: groups[comm] ?? []) }
            return $0
        }
    }

    /// The whole table, lines ending in "\n".
    public func render(_ report: TraceReport) -> String {
        var lines: [String] = []
        lines.append(style(headerLine(report), .bold))
        lines.append(columnTitles.stateLine)
        lines.append(style(columnTitles.unitLine, .bold))
        var flagsUsed = false, grouped = false
        let depths = ProcessTreeText.depths(report) // the process tree, when followed
        for process in report.processes {
            lines.append("")
            let depth = depths[process.pid] ?? 0
            lines.append(style(ProcessTreeText.indent(depth) + processLine(process, windowStartNs: report.windowStartNs), .bold))
            if let lineage = process.lineage, let command = ProcessTreeText.commandLine(lineage, depth: depth) {
                lines.append(command)
            }
            let all = rows(process.threads)
            let shown: ArraySlice<Row>
            let hidden: ArraySlice<Row>
            if let limit = maxThreadsPerProcess, all.count > max(limit, 0) {
                shown = all.prefix(max(limit, 0))
                hidden = all.dropFirst(max(limit, 0))
            } else {
                shown = all[...]
                hidden = []
            }
            for r in shown {
                guard case .thread(let thread) = r else {
                    guard case .shortLived(let comm, let threads) = r else { continue }
                    grouped = true
                    flagsUsed = true
                    let name = TerminalText.truncate(TerminalText.sanitize(comm.isEmpty ? "?" : comm), to: 14)
                    let left = TerminalText.padRight("\(name) ×\(threads.count)", to: 23) + " *"
                    lines.append(row(left: left, times: threads.reduce(StateTimes()) { $0 + $1.times },
                                     window: threads.reduce(UInt64(0)) { $0 &+ $1.windowNs }, dim: true))
                    continue
                }
                let flag = thread.exited ? "x" : thread.left ? "<" : thread.born ? "+" : thread.joined ? ">" : " "
                if flag != " " { flagsUsed = true }
                let comm = thread.comm.isEmpty ? "?" : thread.comm
                // Linux tids have at most 7 digits (pid_max <= 2^22); a longer one takes from the comm.
                let tid = String(thread.tid)
                let commWidth = 15 - max(0, tid.count - 7)
                let left = TerminalText.padRight(TerminalText.truncate(TerminalText.sanitize(comm), to: commWidth), to: commWidth)
                    + " " + TerminalText.padLeft(tid, to: 7) + " " + flag
                lines.append(row(left: left, times: thread.times, window: thread.windowNs,
                                 dim: thread.exited))
                lines += takenRows(stolen: thread.stolenNs, interrupt: thread.interruptNs, window: thread.windowNs,
                                   threshold: thread.windowNs / 1_000)
                lines += gilRow(ns: thread.gilWaitNs, window: thread.windowNs, name: thread.pythonName)
            }
            if !hidden.isEmpty {
                let threads = hidden.flatMap { r -> [ThreadRecord] in
                    switch r {
                    case .thread(let t): [t]
                    case .shortLived(_, let ts): ts
                    }
                }
                let times = threads.reduce(StateTimes()) { $0 + $1.times }
                let window = threads.reduce(UInt64(0)) { $0 &+ $1.windowNs }
                let label = "… \(threads.count) more thread\(threads.count == 1 ? "" : "s")"
                lines.append(row(left: TerminalText.padRight(label, to: Self.leftWidth), times: times, window: window))
            }
            if !process.threads.isEmpty {
                let window = process.threads.reduce(UInt64(0)) { $0 &+ $1.windowNs }
                let label = TerminalText.padRight("= total", to: Self.leftWidth)
                lines.append(row(left: label, times: process.times, window: window, bold: true))
                lines += takenRows(stolen: process.threads.reduce(0) { $0 + $1.stolenNs },
                                   interrupt: process.threads.reduce(0) { $0 + $1.interruptNs }, window: window, threshold: 0)
                lines += gilRow(ns: process.threads.reduce(0) { $0 + $1.gilWaitNs }, window: window, name: nil)
            }
        }
        if flagsUsed {
            lines.append("")
            lines.append("x: exited during the window   +: created during the window")
            if anyMoved(report) { lines.append(">: moved into the cgroup during the window   <: moved out (counted up to the move)") }
            if grouped { lines.append("*: N threads of one name, each created and exited in the window (--threads all lists them)") }
        }
        let lost = lostLines(report.lost)
        if !lost.isEmpty {
            lines.append("")
            lines.append(contentsOf: lost.map { style($0, .red) })
        }
        return lines.map { Self.trimTrailingSpaces($0) + "\n" }.joined()
    }

    // MARK: - Pieces

    private static let states: [(title: String, colour: Style, value: @Sendable (StateTimes) -> UInt64)] = [
        ("on-CPU", .green, { $0.onCPU }),
        ("runnable", .yellow, { $0.runnable }),
        ("sleep", .cyan, { $0.sleep }),
        ("of which D", .magenta, { $0.sleepUninterruptible }),
        ("blocked", .red, { $0.blocked }),
    ]

    /// Columns of comm (15), tid (7) and flag, space separated: 25 columns.
    static let leftWidth = 25
    /// Per state "  " + time (6) + " " + share (6): 15 columns; 100 in all.
    static let blockWidth = 2 + DurationFormat.maxWidth + 1 + 6

    private var columnTitles: (stateLine: String, unitLine: String) {
        var stateLine = String(repeating: " ", count: Self.leftWidth)
        var unitLine = TerminalText.padRight("COMM", to: 15) + " " + TerminalText.padLeft("TID", to: 7) + "  "
        for state in Self.states {
            stateLine += TerminalText.padLeft(state.title, to: Self.blockWidth)
            unitLine += "  " + TerminalText.padLeft("time", to: DurationFormat.maxWidth) + " "
                + TerminalText.padLeft("%", to: 6)
        }
        return (stateLine, unitLine)
    }

    /// Under a row, in its on-CPU column: the part of on-CPU the hypervisor took (steal) and
    /// interrupts took, when more than `threshold` (a thread's: 0.1 % of its window).
    private func takenRows(stolen: UInt64, interrupt: UInt64, window: UInt64, threshold: UInt64) -> [String] {
        var out: [String] = []
        for (label, ns) in [("  of which stolen", stolen), ("  of which interrupts", interrupt)] where ns > threshold {
            let cell = TerminalText.padLeft(DurationFormat.format(ns: ns), to: DurationFormat.maxWidth) + " "
                + TerminalText.padLeft(DurationFormat.percent(ns, of: window), to: 6)
            out.append(style(TerminalText.padRight(label, to: Self.leftWidth) + "  " + cell, .dim))
        }
        return out
    }

    /// Under a Python thread's row: its Python name (threading.Thread.name, quoted) and, in its blocked
    /// column, the part of it spent waiting to take the GIL.
    private func gilRow(ns: UInt64, window: UInt64, name: String?) -> [String] {
        guard ns > 0 || name != nil else { return [] }
        // The interpreter's name of the thread, quoted (threading.Thread.name), else just "python".
        let label = name.map { "  \"" + TerminalText.truncate(TerminalText.sanitize($0), to: Self.leftWidth - 5) + "\"" } ?? "  python"
        var line = TerminalText.padRight(label, to: Self.leftWidth)
        if ns > 0 {
            let cell = TerminalText.padLeft(DurationFormat.format(ns: ns), to: DurationFormat.maxWidth) + " "
                + TerminalText.padLeft(DurationFormat.percent(ns, of: window), to: 6)
            line += String(repeating: " ", count: 4 * Self.blockWidth - 15) + "of which GIL" + "  " + cell
        }
        return [style(line, .dim)]
    }

    private func row(left: String, times: StateTimes, window: UInt64, dim: Bool = false,
                     bold: Bool = false) -> String {
        var line = bold ? style(left, .bold) : dim ? style(left, .dim) : left
        for state in Self.states {
            let ns = state.value(times)
            let time = ns == 0 ? "-" : DurationFormat.format(ns: ns)
            let share = ns == 0 ? "" : DurationFormat.percent(ns, of: window)
            let cell = TerminalText.padLeft(time, to: DurationFormat.maxWidth) + " "
                + TerminalText.padLeft(share, to: 6)
            line += "  " + (ns == 0 ? cell : style(cell, state.colour))
        }
        return line
    }

    private func headerLine(_ report: TraceReport) -> String {
        let threads = report.processes.reduce(0) { $0 + $1.threads.count }
        let head = "swoffcpu: \(DurationFormat.format(ns: report.windowNs)) window, "
            + "\(threads) thread\(threads == 1 ? "" : "s"); target: "
        let room = Self.maxLineWidth - TerminalText.width(head)
        if let target {
            return head + TerminalText.truncate(TerminalText.sanitize(target), to: room)
        }
        if report.processes.isEmpty { return head + "none" }
        let names = report.processes.map { process in
            "pid \(process.pid)" + (process.comm.isEmpty ? "" : " (\(TerminalText.truncate(TerminalText.sanitize(process.comm), to: 16)))")
        }
        // As many processes as fit, then "and N more".
        var text = ""
        var listed = 0
        for name in names {
            let candidate = listed == 0 ? name : text + ", " + name
            let remaining = names.count - listed - 1
            let suffix = remaining > 0 ? " and \(remaining) more" : ""
            guard TerminalText.width(candidate + suffix) <= room else { break }
            text = candidate
            listed += 1
        }
        if listed == names.count { return head + text }
        if listed == 0 { return head + TerminalText.truncate("\(names.count) processes", to: room) }
        return head + text + " and \(names.count - listed) more"
    }

    private func processLine(_ process: ProcessReport, windowStartNs: UInt64) -> String {
        let comm = process.comm.isEmpty ? "?" : TerminalText.truncate(TerminalText.sanitize(process.comm), to: 40)
        let count = process.threads.count
        var line = "pid \(process.pid) \(comm)"
        // In parentheses: its parent and birth when followed, its exit (and how, when followed).
        var notes = process.lineage.map { ProcessTreeText.parentNotes($0, windowStartNs: windowStartNs) } ?? []
        if process.exited {
            // When: its last thread's end in the window.
            let how = process.lineage?.exitDescription.map { ": \($0)" } ?? ""
            if let end = process.threads.map(\.endNs).max() {
                notes.append("exited \(DurationFormat.format(ns: end - min(end, windowStartNs))) into the window\(how)")
            } else {
                notes.append("exited\(how)")
            }
        }
        if !notes.isEmpty { line += " (" + notes.joined(separator: ", ") + ")" }
        line += count == 0 ? ": no thread traced" : ", \(count) thread\(count == 1 ? "" : "s")"
        return line
    }

    private func lostLines(_ lost: LostCounts) -> [String] {
        var lines: [String] = []
        if lost.untracedThreads > 0 {
            let n = lost.untracedThreads
            lines.append("LOST: \(n) thread\(n == 1 ? "" : "s") not traced (no kernel task storage): missing from this report")
        }
        if lost.exitRecordsDropped > 0 || lost.exitRecordsDroppedNs > 0 {
            let n = lost.exitRecordsDropped
            lines.append("LOST: \(n) exit record\(n == 1 ? "" : "s") dropped (ring buffer full): "
                + "\(DurationFormat.format(ns: lost.exitRecordsDroppedNs)) of thread-time missing")
        }
        if lost.switchesRecovered > 0 {
            let n = lost.switchesRecovered
            lines.append("note: \(n) context switch\(n == 1 ? "" : "es") not seen by the BPF programs, "
                + "rebuilt from the kernel's clocks")
        }
        return lines
    }

    private static func trimTrailingSpaces(_ line: String) -> String {
        var line = line
        while line.last == " " { line.removeLast() }
        return line
    }

    // MARK: - Colour

    enum Style: String, Sendable {
        case bold = "1", dim = "2", red = "31", green = "32", yellow = "33", cyan = "36", magenta = "35"
    }

    private func style(_ text: String, _ style: Style) -> String {
        guard color, !text.isEmpty else { return text }
        return "\u{1B}[\(style.rawValue)m" + text + "\u{1B}[0m"
    }
}

extension BreakdownTable {
    /// --cgroup: whether any thread moved in or out of the cgroup in the window.
    func anyMoved(_ report: TraceReport) -> Bool {
        report.processes.contains { $0.threads.contains { $0.joined || $0.left } }
    }
}
