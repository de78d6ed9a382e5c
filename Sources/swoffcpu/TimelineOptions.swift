import ArgumentParser

/// When and why: the per-thread timeline, who waits on whom, the critical path (docs/timeline.md).
struct TimelineOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write every state interval of every thread, with wait channels and wakeups, to FILE (Chrome trace-event JSON: open it in ui.perfetto.dev).", valueName: "FILE"))
    var timeline: String?

    @Option(help: ArgumentHelp("Keep at most N timeline slices (each state interval is one); further ones are counted as dropped.", valueName: "N"))
    var timelineLimit: Int = 2_000_000

    @Flag(help: "Print who waits on whom: the wait-for graph's heaviest edges and its knots (groups of threads waiting on each other, and the thread or lock at their bottom). Also in --json.")
    var waits = false

    @Option(help: ArgumentHelp("Write the wait-for graph to FILE: Graphviz DOT if it ends in .dot, else a self-contained SVG.", valueName: "FILE.svg|FILE.dot"))
    var waitGraph: String?

    @Option(help: ArgumentHelp("Report where the wall time of this thread went, following the threads that woke it (by TID, or by thread name).", valueName: "TID|COMM"))
    var criticalPath: String?

    func validate() throws {
        if timeline == "" || waitGraph == "" { throw ValidationError("--timeline and --wait-graph need a file name") }
        if waitGraph == "-" || timeline == "-" { throw ValidationError("--timeline and --wait-graph need a file name, not '-'") }
        if timelineLimit < 1 { throw ValidationError("--timeline-limit must be at least 1") }
        if criticalPath == "" { throw ValidationError("--critical-path needs a TID or a thread name") }
    }

    /// Whether the kernel side records the timeline.
    var enabled: Bool { timeline != nil || waits || waitGraph != nil || criticalPath != nil }
}
