import SwoffcpuCore
import SwoffcpuResolve

/// The text report's lock sections (docs/locks.md): "Contended locks" (mutexes, rwlocks,
/// other and unknown futexes) and "Idle waits" (condition variables, semaphores, barriers,
/// joins), each sorted by total wait. Every line fits in `width` columns.
///
/// Per lock, one row of numbers (exact: total wait, waits, average, longest, waiting threads),
/// then where it lives, the top waiter stack, the top releaser stack and the top releasing
/// threads, with their shares of the lock's sampled wait time.
public struct LockText: Sendable {
    /// Locks shown per section.
    public var top: Int
    public var width: Int
    /// Frames shown per stack line, innermost first (thread-start frames are left out).
    public var maxFrames: Int

    public init(top: Int = 5, width: Int = 100, maxFrames: Int = 5) {
        self.top = top
        self.width = width
        self.maxFrames = maxFrames
    }

    static let kindColumn = 12
    /// Columns of a row besides the name.
    static let fixedColumns = 62
    /// The lock name's column: 32 at 100 columns, narrower (at least 8) on a narrow terminal.
    var nameColumn: Int { max(8, min(32, width - Self.fixedColumns)) }

    /// `sampled`: stacks were walked at a sample of switch-outs; `stacksWalked`: at all (not --no-stacks).
    public func render(_ report: LockReport, sampled: Bool = true, stacksWalked: Bool = true) -> String {
        guard top > 0 else { return "" }
        var out = ""
        let contendedNs = report.contended.reduce(UInt64(0)) { $0.addingOrMax($1.waitNs) }
        if report.contended.isEmpty {
            out += fit("Contended locks: none (no futex waits on mutexes, rwlocks or other futexes)") + "\n"
        } else {
            out += fit("Contended locks: \(plural(report.contended.count, "futex", "futexes")), "
                + "\(DurationFormat.format(ns: contendedNs)) of waits, most first") + "\n"
            out += section(report.contended)
        }
        if !report.idle.isEmpty {
            let idleNs = report.idle.reduce(UInt64(0)) { $0.addingOrMax($1.waitNs) }
            out += "\n"
            out += fit("Idle waits (condition variables, semaphores, barriers, joins): "
                + "\(plural(report.idle.count, "futex", "futexes")), \(DurationFormat.format(ns: idleNs)) of waits")
                + "\n"
            out += section(report.idle)
        }
        var note = "Locks: totals, waits, averages and maxima are exact (every futex wait); stacks and "
            + "releasers come from the waits whose stacks were walked"
        if !stacksWalked {
            note += ": none were (--no-stacks), so no stacks, no releasers, and kinds are unknown but for PI futexes."
        } else {
            note += sampled ? " (sampled; shares of their weighted time; --all-stacks walks every wait)." : "."
        }
        if report.waitsDropped > 0 || report.wakersDropped > 0 {
            note += " Not recorded, lock maps full: \(report.waitsDropped) waits "
                + "(\(DurationFormat.format(ns: report.waitsDroppedNs))), \(report.wakersDropped) wakeups."
        }
        out += "\n" + wrap(note)
        return out
    }

    func section(_ locks: [LockReport.Lock]) -> String {
        var out = fit(header()) + "\n"
        for (i, lock) in locks.prefix(top).enumerated() {
            out += lines(lock, index: i + 1).map { fit($0) + "\n" }.joined()
        }
        if locks.count > top { out += fit("  … \(locks.count - top) more (--top N; --json FILE lists all)") + "\n" }
        return out
    }

    func header() -> String {
        "  " + TerminalText.padLeft("#", to: 3) + "  " + TerminalText.padRight("lock", to: nameColumn) + "  "
            + TerminalText.padRight("kind", to: Self.kindColumn) + "  " + TerminalText.padLeft("total", to: 6) + "  "
            + TerminalText.padLeft("waits", to: 6) + "  " + TerminalText.padLeft("avg", to: 6) + "  "
            + TerminalText.padLeft("max", to: 6) + "  " + TerminalText.padLeft("waiters", to: 7)
    }

    /// The row and detail lines of one lock (not yet fitted to the width).
    public func lines(_ lock: LockReport.Lock, index: Int) -> [String] {
        let name = TerminalText.sanitize(lock.name)
        var out: [String] = []
        out.append("  " + TerminalText.padLeft("\(index)", to: 3) + "  "
                   + TerminalText.padRight(TerminalText.truncate(name, to: nameColumn), to: nameColumn) + "  "
                   + TerminalText.padRight(lock.kind.name, to: Self.kindColumn) + "  "
                   + TerminalText.padLeft(DurationFormat.format(ns: lock.waitNs), to: 6) + "  "
                   + TerminalText.padLeft(Self.count(lock.waits), to: 6) + "  "
                   + TerminalText.padLeft(DurationFormat.format(ns: lock.averageNs), to: 6) + "  "
                   + TerminalText.padLeft(DurationFormat.format(ns: lock.maxWaitNs), to: 6) + "  "
                   + TerminalText.padLeft("\(lock.waiters.count)", to: 7))
        let indent = String(repeating: " ", count: 7)
        var place = ""
        if TerminalText.width(name) > nameColumn { place += name + " · " }
        if lock.isNamedBySymbol { place += LockReport.hexAddress(lock.uaddr) + " · " }
        let process = lock.comm.isEmpty ? "pid \(lock.tgid)" : "\(TerminalText.sanitize(lock.comm)) (pid \(lock.tgid))"
        place += process + " · " + lock.ops.map(\.name).joined(separator: ", ")
        out.append(indent + place)
        let label = 10
        func row(_ title: String, _ share: String, _ text: String) -> String {
            indent + TerminalText.padRight(title, to: label) + TerminalText.padLeft(share, to: 6) + "  " + text
        }
        // A stack goes on as many lines as it needs (at most maxFrames frames), broken between frames.
        func stackRows(_ title: String, _ share: String, _ stack: LockReport.Stack) -> [String] {
            let lead = indent.count + label + 6 + 2
            var rows: [String] = []
            var line = ""
            for (i, frame) in stackFrames(stack).enumerated() {
                let piece = i == 0 ? frame : " ← " + frame
                if !line.isEmpty && lead + TerminalText.width(line + piece) > width {
                    rows.append(line)
                    line = "← " + frame
                } else {
                    line += piece
                }
            }
            rows.append(line)
            return rows.enumerated().map { i, text in
                i == 0 ? row(title, share, text) : String(repeating: " ", count: lead) + text
            }
        }
        if let s = lock.waiterStacks.first {
            out += stackRows("waiting", DurationFormat.percent(s.weightedNs, of: lock.sampledNs), s)
        } else {
            out.append(row("waiting", "", "[no walked wait ended in the window: no stack]"))
        }
        if let s = lock.releaserStacks.first {
            out += stackRows("released", DurationFormat.percent(s.weightedNs, of: lock.sampledNs), s)
            let threads = lock.releasers.map {
                TerminalText.sanitize($0.label) + " " + DurationFormat.percent($0.ns, of: lock.sampledNs)
            }
            out.append(row("releasers", "", list(threads, room: width - indent.count - label - 8)))
        }
        let waiters = lock.waiters.map { TerminalText.sanitize($0.label) }
        out.append(row("waiters", "", list(waiters, room: width - indent.count - label - 8)))
        return out
    }

    /// As many items as fit in `room` columns, then ", +N more".
    func list(_ items: [String], room: Int) -> String {
        var text = ""
        for (i, item) in items.enumerated() {
            let piece = (text.isEmpty ? "" : ", ") + item
            let rest = items.count - i - 1
            let tail = rest > 0 ? ", +\(rest) more" : ""
            if !text.isEmpty && TerminalText.width(text + piece + tail) > room {
                return text + ", +\(items.count - i) more"
            }
            text += piece
        }
        return text
    }

    /// Innermost frames first, joined by " ← ": user frames, or the kernel's when there are
    /// none (marked [k]). Thread-start frames say nothing about the lock and are left out.
    public func stackLine(_ stack: LockReport.Stack) -> String {
        stackFrames(stack).joined(separator: " ← ")
    }

    /// The frames `stackLine` shows, innermost first, with "…" when there are more.
    public func stackFrames(_ stack: LockReport.Stack) -> [String] {
        var frames = stack.userFrames.filter { !Self.isThreadRoot($0) }
        if frames.isEmpty { frames = stack.kernelFrames.map { $0 + " [k]" } }
        if frames.isEmpty { return ["[no stack]"] }
        var shown = Array(frames.prefix(maxFrames)).map { TerminalText.sanitize($0) }
        if frames.count > maxFrames { shown.append("…") }
        return shown
    }

    static func isThreadRoot(_ frame: String) -> Bool {
        let roots: Set<String> = ["start_thread", "clone", "clone3", "__clone", "__clone3", "__clone_internal",
                                  "_start", "__libc_start_main", "__libc_start_call_main", "__libc_start_main_impl",
                                  "thread_start", "runtime.goexit"]
        return roots.contains(frame)
    }

    /// A count in at most 6 characters: 12345, 123k, 1.23M, 12.3M, 123M, 1.23G…
    public static func count(_ n: UInt64) -> String {
        if n < 100_000 { return "\(n)" }
        if n < 1_000_000 { return "\(n / 1_000)k" }
        var scale: UInt64 = 1_000_000
        for unit in ["M", "G", "T", "P"] {
            if n / scale < 1_000 || unit == "P" {
                let v = n / scale
                if v >= 100 { return "\(v)\(unit)" }
                if v >= 10 { return "\(v).\(n / (scale / 10) % 10)\(unit)" }
                let hundredths = n / (scale / 100) % 100
                return "\(v).\(hundredths < 10 ? "0" : "")\(hundredths)\(unit)"
            }
            scale *= 1_000
        }
        return "\(n)"
    }

    func fit(_ line: String) -> String {
        TerminalText.width(line) <= width ? line : TerminalText.truncate(line, to: width)
    }

    func wrap(_ text: String) -> String {
        var out = "", line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && TerminalText.width(line) + 1 + TerminalText.width(String(word)) > width {
                out += line + "\n"
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        return line.isEmpty ? out : out + line + "\n"
    }

    private func plural(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
}
