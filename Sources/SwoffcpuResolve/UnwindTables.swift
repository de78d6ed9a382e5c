import SwoffcpuSymbolizer

/// The unwind tables of the traced processes, built from the snapshots' modules
/// (SwoffcpuSymbolizer's UnwindTable; docs/unwinding.md). Re-exported for the CLI.
public typealias UnwindTableSet = SwoffcpuSymbolizer.UnwindTableSet
public typealias UnwindMapping = SwoffcpuSymbolizer.UnwindMapping

extension StackResolver {
    /// The executable mappings of a process's current snapshot with their tables (built
    /// into `tables` as needed); nil without a snapshot.
    public func unwindMappings(pid: Int32, tables: UnwindTableSet) -> [UnwindMapping]? {
        processes[pid].map { tables.mappings(for: $0) }
    }
}

/// What the DWARF unwinder did in one trace, for the report's note and JSON (`unwind`).
public struct UnwindSummary: Sendable, Equatable {
    public var mode: String
    /// Modules with a table, their rows, the bytes they take in the kernel, and the time building them took.
    public var modules: Int
    public var rows: Int
    public var tableBytes: Int { rows * 8 }
    public var buildNs: UInt64
    /// Unwinds in the kernel, and how many reached the outermost frame.
    public var walks: UInt64
    public var whole: UInt64
    /// Stacks cut short, by reason (only reasons that occurred).
    public var truncated: [(reason: String, count: UInt64)]
    /// Walks of processes with no tables (frame pointers instead).
    public var fpFallbacks: UInt64
    /// Table refreshes after new executable mappings (dlopen) during the trace.
    public var refreshes: Int

    public init(mode: String, modules: Int, rows: Int, buildNs: UInt64, walks: UInt64, whole: UInt64,
                truncated: [(reason: String, count: UInt64)], fpFallbacks: UInt64, refreshes: Int) {
        self.mode = mode
        self.modules = modules
        self.rows = rows
        self.buildNs = buildNs
        self.walks = walks
        self.whole = whole
        self.truncated = truncated
        self.fpFallbacks = fpFallbacks
        self.refreshes = refreshes
    }

    public static func == (a: UnwindSummary, b: UnwindSummary) -> Bool {
        a.mode == b.mode && a.modules == b.modules && a.rows == b.rows && a.walks == b.walks && a.whole == b.whole
            && a.truncated.map(\.reason) == b.truncated.map(\.reason) && a.truncated.map(\.count) == b.truncated.map(\.count)
    }

    /// One sentence for the note under the top stacks.
    public var note: String {
        var s = "Unwinding (\(mode)): \(walks) user stacks unwound in the kernel with .eh_frame tables "
            + "(\(modules) modules, \(rows) rows, \(tableBytes / 1024) KiB), \(whole) whole to the outermost frame"
        let cut = truncated.reduce(0) { $0 + $1.count }
        if cut > 0 {
            s += "; \(cut) cut short, ending in a [truncated: …] frame ("
                + truncated.map { "\($0.reason) \($0.count)" }.joined(separator: ", ") + ")"
        }
        s += "."
        if fpFallbacks > 0 { s += " \(fpFallbacks) walks of processes without tables used frame pointers." }
        return s
    }
}
