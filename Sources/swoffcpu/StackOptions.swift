import ArgumentParser

/// Off-CPU stacks: what to walk, how often, and where the folded and flamegraph output go.
struct StackOptions: ParsableArguments {
    @Flag(help: "Do not walk stacks: the state table alone, at the lowest cost.")
    var noStacks = false

    @Flag(help: "Do not walk user-space stacks.")
    var noUserStacks = false

    @Flag(help: "Do not walk kernel stacks.")
    var noKernelStacks = false

    @Flag(help: "Walk the stacks at every switch-out (exact stack times, higher cost) instead of sampling.")
    var allStacks = false

    @Option(help: ArgumentHelp("Within 10 ms of a thread's last stack walk, walk 1 switch-out in N.", valueName: "N"))
    var stackSampling: UInt32 = 64

    @Option(help: ArgumentHelp("Room for N distinct stacks in the kernel (default: from the thread count, at least 131072).", valueName: "N"))
    var maxStacks: UInt32?

    @Option(help: ArgumentHelp("Show the N off-CPU stacks that cost most, per state.", valueName: "N"))
    var top: Int = 5

    @Option(help: ArgumentHelp("Write folded stacks (flamegraph.pl's input, values in µs) to FILE ('-': stdout).", valueName: "FILE"))
    var folded: String?

    @Flag(help: "In folded stacks and the flamegraph, add a comm-TID frame under each state.")
    var foldedThread = false

    @Option(help: ArgumentHelp("Write an interactive off-CPU flamegraph (self-contained SVG) to FILE.", valueName: "FILE"))
    var flamegraph: String?

    var enabled: Bool { !noStacks && !(noUserStacks && noKernelStacks) }

    func validate() throws {
        if stackSampling < 1 { throw ValidationError("--stack-sampling must be at least 1") }
        if top < 0 { throw ValidationError("--top must be 0 or more") }
        if let maxStacks, maxStacks < 1 { throw ValidationError("--max-stacks must be at least 1") }
        if noStacks && (folded != nil || flamegraph != nil) {
            throw ValidationError("--folded and --flamegraph need stacks: drop --no-stacks")
        }
        if flamegraph == "" || folded == "" { throw ValidationError("--folded and --flamegraph need a file name") }
    }
}
