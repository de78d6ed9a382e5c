import SwoffcpuCore

/// What every exporter reads: one trace with its stacks attributed and symbolized and its locks
/// named. The resolve stage makes it from a `TraceReport` (the loader's output) and the snapshots
/// of the traced processes (`StackResolver`); nothing after it goes back to the kernel's ids.
public struct ResolvedTrace: Sendable {
    /// The per-thread state times (and the raw stack and lock tables, for what the exporters
    /// count: sampling, drops).
    public var report: TraceReport
    public var stacks: SymbolizedStacks
    /// Futex waits per lock, named and classified (nil when the kernel recorded none).
    public var locks: LockReport?
    /// The traced processes as a user reads them: `mtx (pid 21875), …`.
    public var targetDescription: String
    /// What this trace could not show and why (hidden kernel symbols, another user's process):
    /// one sentence each.
    public var degraded: [String] = []
    /// The DWARF unwinder's tables and counts (nil with --unwind fp or without user stacks).
    public var unwind: UnwindSummary?
    /// The files the traced processes had mapped executable, with their build-ids: a frame left
    /// `module+0xVADDR` can be named later from its module's debug file (debuginfod).
    public var modules: [Module] = []

    public struct Module: Sendable, Equatable {
        public var pid: Int32
        public var path: String
        public var buildID: String?
        public var debugFile: String?
        /// No `.symtab` and no debug file: only exported functions named.
        public var stripped: Bool

        public init(pid: Int32, path: String, buildID: String?, debugFile: String?, stripped: Bool) {
            self.pid = pid
            self.path = path
            self.buildID = buildID
            self.debugFile = debugFile
            self.stripped = stripped
        }
    }

    public init(report: TraceReport, stacks: SymbolizedStacks = SymbolizedStacks(), locks: LockReport? = nil,
                targetDescription: String? = nil) {
        self.report = report
        self.stacks = stacks
        self.locks = locks
        self.targetDescription = targetDescription
            ?? report.processes.map { "\($0.comm) (pid \($0.pid))" }.joined(separator: ", ")
    }
}
