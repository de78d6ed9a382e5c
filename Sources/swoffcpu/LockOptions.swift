import ArgumentParser

/// Lock contention: the lock-only report and the wakers' folded stacks and flamegraph.
struct LockOptions: ParsableArguments {
    @Flag(help: "Print only the lock sections (contended locks, idle waits): no table, no stacks. Files are still written.")
    var locks = false

    @Option(help: ArgumentHelp("Write folded stacks of futex waits with their wakers (waiter;--;waker, µs) to FILE ('-': stdout).", valueName: "FILE"))
    var foldedWakers: String?

    @Option(help: ArgumentHelp("Write a flamegraph of futex waits with their wakers (self-contained SVG) to FILE.", valueName: "FILE"))
    var flamegraphWakers: String?

    func validate() throws {
        if foldedWakers == "" || flamegraphWakers == "" {
            throw ValidationError("--folded-wakers and --flamegraph-wakers need a file name")
        }
    }

    /// Outputs that need the walked stacks.
    var needsStacks: Bool { foldedWakers != nil || flamegraphWakers != nil }
}
