import SwoffcpuBPF
import SwoffcpuCore
import SwoffcpuResolve
import SwoffcpuSystem

/// The DWARF unwinder's side of a trace (docs/unwinding.md): tables built from the targets'
/// snapshots before the programs load, refreshed when a target maps new code (dlopen), and
/// the summary for the report.
final class UnwindRunner {
    let mode: UnwindMode
    let tables = UnwindTableSet()
    /// Per process: its executable mappings last given to the kernel (start, end, path).
    private var known: [Int32: [String]] = [:]
    private var refreshes = 0
    private var lastCheckNs: UInt64 = 0
    private var lastUnknown: UInt64 = 0

    init(mode: UnwindMode) {
        self.mode = mode
    }

    /// The tables of every snapshot taken: what `TraceOptions.unwind` takes.
    func setup(resolver: StackResolver, pids: [Int32]) -> UnwindSetup? {
        guard mode != .fp else { return nil }
        var processes: [Int32: [UnwindMappingEntry]] = [:]
        let t0 = Clock.monotonicNs()
        for pid in pids {
            guard let m = resolver.unwindMappings(pid: pid, tables: tables) else { continue }
            if m.count > UnwindSetup.maxMappings {
                Log.logger.warning("unwind tables: pid \(pid) has \(m.count) executable mappings, the kernel side keeps \(UnwindSetup.maxMappings): stacks through the others end in [truncated: no mapping]")
            }
            processes[pid] = m.map(Self.entry)
            known[pid] = Self.identity(m)
        }
        let rows = tables.rows.count
        Log.logger.info("unwind tables: \(tables.built.count) modules, \(rows) rows (\(rows * 8 / 1024) KiB), built in \(DurationFormat.format(ns: Clock.monotonicNs() - t0))")
        for b in tables.built {
            Log.logger.debug("unwind table: \(b.path): \(b.fdes) FDEs, \(b.rows) rows, frame pointers \(b.framePointers), \(DurationFormat.format(ns: b.ns))")
        }
        let capacity = UInt32(clamping: rows + UnwindSetup.headroomRows)
        return UnwindSetup(mode: mode, rows: tables.rows, processes: processes, rowCapacity: capacity)
    }

    /// Once a second, and as soon as the kernel counts a pc in no known mapping (the wait
    /// loop calls this every 100 ms): a target whose executable mappings changed (a library
    /// dlopen'ed) gets a new snapshot and its new modules' tables. Stacks through code mapped
    /// since the last check end in a `[truncated: no mapping]` frame (counted), never a wrong caller.
    /// `followed`: processes born or exec'ed since the trace began (--follow, a command), whose
    /// tables are given at once when `force` (a birth or an exec was just seen).
    func refreshIfNeeded(session: TraceSession, resolver: inout StackResolver?, nowNs: UInt64,
                         followed: Set<Int32> = [], force: Bool = false) {
        guard mode != .fp, session.unwindRows != nil else { return }
        // At once when the kernel met pcs in no known mapping (new code running), else once a second.
        let unknown = session.unwindCounts()?.stops.dropFirst().first ?? 0
        guard force || unknown != lastUnknown || nowNs - lastCheckNs >= 1_000_000_000 else { return }
        lastUnknown = unknown
        lastCheckNs = nowNs
        var pids = session.targets.filter { !$0.hasExited }.map(\.pid)
        pids += followed.subtracting(pids).sorted()
        for pid in pids {
            let start = Clock.monotonicNs()
            guard let now = Self.executableMappings(pid: pid), now != known[pid] else { continue }
            resolver?.snapshot(pid: pid)
            guard let resolver else { continue }
            let before = tables.rows.count
            guard let m = resolver.unwindMappings(pid: pid, tables: tables) else { continue }
            // The kernel's array holds the tables in the order built: append the new ones.
            let added = Array(tables.rows[before...])
            if !added.isEmpty, session.appendUnwindRows(added) == nil {
                Log.logger.warning("unwind tables: no room for \(added.count) more rows; stacks through pid \(pid)'s new libraries end in [truncated: …]")
                continue
            }
            do {
                try session.setUnwindMappings(tgid: pid, m.map(Self.entry))
                known[pid] = Self.identity(m)
                refreshes += 1
                Log.logger.info("unwind tables: pid \(pid) mapped new code; \(added.count) rows added in \(DurationFormat.format(ns: Clock.monotonicNs() - start))")
            } catch {
                Log.logger.warning("unwind tables: \(error)")
            }
        }
    }

    func summary(session: TraceSession) -> UnwindSummary? {
        guard mode != .fp, let c = session.unwindCounts() else { return nil }
        var cut: [(reason: String, count: UInt64)] = []
        for (i, n) in c.stops.enumerated() where i > 0 && n > 0 {
            cut.append((UnwindCounts.reasons[min(i, UnwindCounts.reasons.count - 1)], n))
        }
        return UnwindSummary(mode: mode.rawValue, modules: tables.built.filter { $0.rows > 0 }.count,
                             rows: tables.rows.count, buildNs: tables.built.reduce(0) { $0 + $1.ns },
                             walks: c.walks, whole: c.whole, truncated: cut, fpFallbacks: c.fpFallbacks,
                             refreshes: refreshes)
    }

    private static func entry(_ m: UnwindMapping) -> UnwindMappingEntry {
        UnwindMappingEntry(start: m.start, end: m.end, bias: m.bias, tableStart: m.tableStart,
                           tableLength: m.tableLength, framePointers: m.framePointers)
    }

    private static func identity(_ m: [UnwindMapping]) -> [String] {
        m.map { "\($0.start)-\($0.end) \($0.path)" }.sorted()
    }

    /// The executable mappings of /proc/PID/maps, as `identity` writes them.
    static func executableMappings(pid: Int32) -> [String]? {
        guard let text = ProcFS.read("/proc/\(pid)/maps") else { return nil }
        var out: [String] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard f.count >= 2, f[1].count >= 3, f[1][f[1].index(f[1].startIndex, offsetBy: 2)] == "x" else { continue }
            let range = f[0].split(separator: "-")
            guard range.count == 2, let s = UInt64(range[0], radix: 16), let e = UInt64(range[1], radix: 16) else { continue }
            let path = f.count == 6 ? f[5].trimmingPrefix(while: { $0 == " " }) : ""
            out.append("\(s)-\(e) \(path)")
        }
        return out.sorted()
    }
}
