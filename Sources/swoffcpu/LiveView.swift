import Glibc
import SwoffcpuBPF
import SwoffcpuCore
import SwoffcpuExport
import SwoffcpuSystem

/// `--interval SECONDS`: every interval, each traced thread's time over the interval (the
/// difference of its cumulative records, `IntervalDeltas`), shown as a top-like table redrawn
/// in place, or written as one JSON object per line (`--json -`). docs/live.md.
///
/// On a terminal the frames are drawn on the alternate screen (left at the end, so the
/// whole-window report lands on the normal screen, below what was there): the cursor goes
/// home, every line is rewritten and its rest cleared (`ESC[K`), then the rest of the screen
/// (`ESC[J`): no frame is ever blank, so nothing flickers. Not on a terminal, frames follow
/// each other, separated by a blank line.
final class LiveView {
    enum Mode { case terminal, text, jsonLines }

    let intervalNs: UInt64
    let sort: SortState
    let top: Int
    let mode: Mode
    private var deltas = IntervalDeltas()
    private var startNs: UInt64 = 0
    private var lastNs: UInt64 = 0
    private var nextNs: UInt64 = 0
    private var seq = 0
    private var onAltScreen = false

    init(intervalSeconds: Double, sort: SortState, top: Int, jsonLines: Bool) {
        intervalNs = UInt64((intervalSeconds * 1e9).rounded())
        self.sort = sort
        self.top = top
        mode = jsonLines ? .jsonLines : Terminal.stdoutIsTerminal ? .terminal : .text
    }

    deinit { leaveScreen() }

    /// The window has started at `windowStartNs`.
    func begin(windowStartNs: UInt64) {
        startNs = windowStartNs
        lastNs = windowStartNs
        nextNs = windowStartNs + intervalNs
        if mode == .terminal {
            Terminal.writeOutput("\u{1b}[?1049h\u{1b}[?25l\u{1b}[H\u{1b}[J") // alternate screen, no cursor
            onAltScreen = true
            Self.screenToRestore = true
            // An error ends the process with exit() (Diagnostics.fail): the terminal is given back then too.
            atexit { if LiveView.screenToRestore { Terminal.writeOutput(LiveView.restore) } }
            Terminal.writeOutput("swoffcpu: first frame in \(DurationFormat.format(ns: intervalNs))…\u{1b}[K")
        }
    }

    /// How long until the next frame is due.
    func untilNextNs(_ now: UInt64) -> UInt64 { nextNs > now ? nextNs - now : 0 }

    /// Draws a frame if one is due (called from the trace's wait loop).
    func tick(_ session: TraceSession, now: UInt64) {
        guard now >= nextNs else { return }
        let records: [ThreadRecord]
        do { records = try session.liveRecords() } catch {
            Diagnostics.write("swoffcpu: live view: \(error)\n")
            nextNs = now + intervalNs
            return
        }
        // The interval ends where the live threads' records do (the dump's clock), so that a
        // thread traced all along has the interval's length in all.
        let end = records.lazy.filter { !$0.exited && !$0.left }.map(\.endNs).max() ?? Clock.monotonicNs()
        emit(deltas.next(records), from: lastNs, to: end, last: false, names: [:])
        lastNs = end
        // The next frame an interval after this one was due, or after now if we fell behind.
        nextNs = max(nextNs + intervalNs, Clock.monotonicNs() + intervalNs / 2)
    }

    /// The window ended: the part of an interval since the last frame, from the final
    /// report's records, so that every thread's deltas add up to its whole-window times.
    func finish(_ report: TraceReport) {
        let names = Dictionary(report.processes.map { ($0.pid, $0.comm) }, uniquingKeysWith: { a, _ in a })
        emit(deltas.next(report.processes.flatMap(\.threads)), from: lastNs, to: report.windowEndNs, last: true,
             names: names)
        leaveScreen()
    }

    private func leaveScreen() {
        guard onAltScreen else { return }
        Terminal.writeOutput(Self.restore)
        onAltScreen = false
        Self.screenToRestore = false
    }

    /// Cursor back, normal screen.
    static let restore = "\u{1b}[?25h\u{1b}[?1049l"
    nonisolated(unsafe) static var screenToRestore = false

    private func emit(_ threads: [ThreadDelta], from: UInt64, to: UInt64, last: Bool, names: [Int32: String]) {
        seq += 1
        let processes = IntervalDeltas.processes(threads, names: names)
        let span = to > from ? to - from : 0
        switch mode {
        case .jsonLines:
            Terminal.writeOutput(Self.jsonLine(seq: seq, from: from, to: to, windowStartNs: startNs, last: last,
                                               sort: sort, processes: processes, threads: threads))
        case .terminal, .text:
            if mode == .terminal && last { return } // the whole-window report follows
            let size = Terminal.stdoutSize
            let rows = size?.rows ?? 1_000
            let table = TopTable(top: top)
            var lines = ["swoffcpu: +\(DurationFormat.format(ns: to > startNs ? to - startNs : 0)) · "
                + "interval \(DurationFormat.format(ns: span)) · \(processes.count) process\(processes.count == 1 ? "" : "es"), \(threads.count) thread\(threads.count == 1 ? "" : "s")"
                + " · by \(sort.title) (--sort) · Ctrl-C: whole-window report"]
            lines.append("")
            // Processes: --top rows; threads: what the screen has left (on a terminal), else --top.
            let processRows = table.processRows(processes, sort: sort, spanNs: span, limit: min(top, max(1, rows / 3)))
            lines += processRows
            lines.append("")
            let left = mode == .terminal ? max(1, rows - lines.count - 1) : top + 1
            lines += table.threadRows(threads, sort: sort, spanNs: span, limit: left - 1)
            if mode == .terminal {
                let width = size?.columns ?? 200
                let body = lines.prefix(rows).map { TerminalText.truncate($0, to: width) + "\u{1b}[K" }
                Terminal.writeOutput("\u{1b}[H" + body.joined(separator: "\n") + "\u{1b}[J")
            } else {
                Terminal.writeOutput((seq > 1 ? "\n" : "") + lines.joined(separator: "\n") + "\n")
            }
        }
    }

    /// One interval as one line of JSON (docs/live.md).
    static func jsonLine(seq: Int, from: UInt64, to: UInt64, windowStartNs: UInt64, last: Bool, sort: SortState,
                         processes: [ProcessDelta], threads: [ThreadDelta]) -> String {
        func times(_ t: StateTimes, into o: inout JSONObject) {
            o["on_cpu_ns"] = .uint(t.onCPU)
            o["runnable_ns"] = .uint(t.runnable)
            o["sleep_ns"] = .uint(t.sleep)
            o["sleep_uninterruptible_ns"] = .uint(t.sleepUninterruptible)
            o["blocked_ns"] = .uint(t.blocked)
        }
        var doc = JSONObject()
        doc["type"] = .string("interval")
        doc["seq"] = .int(Int64(seq))
        doc["last"] = .bool(last)
        doc["start_ns"] = .uint(from)
        doc["end_ns"] = .uint(to)
        doc["interval_ns"] = .uint(to > from ? to - from : 0)
        doc["elapsed_ns"] = .uint(to > windowStartNs ? to - windowStartNs : 0)
        doc["sort"] = .string(sort.rawValue)
        let sortedProcesses = processes.sorted { (sort.value($0.times), $1.pid) > (sort.value($1.times), $0.pid) }
        doc["processes"] = .array(sortedProcesses.map { p in
            var o = JSONObject()
            o["pid"] = .int(Int64(p.pid))
            o["comm"] = .string(p.comm)
            o["threads"] = .int(Int64(p.threads))
            times(p.times, into: &o)
            return .object(o)
        })
        let sortedThreads = threads.sorted { (sort.value($0.times), $1.tid) > (sort.value($1.times), $0.tid) }
        doc["threads"] = .array(sortedThreads.map { t in
            var o = JSONObject()
            o["pid"] = .int(Int64(t.tgid))
            o["tid"] = .int(Int64(t.tid))
            o["comm"] = .string(t.comm)
            o["start_ns"] = .uint(t.startNs)
            o["new"] = .bool(t.new)
            o["ended"] = .bool(t.ended)
            times(t.times, into: &o)
            return .object(o)
        })
        return JSONValue.object(doc).serialized(pretty: false) + "\n"
    }
}
