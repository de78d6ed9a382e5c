import SwoffcpuCore

/// The off-CPU stacks of a trace, symbolized: each distinct stack once in `table`, and the
/// time of each (thread, state, user stack, kernel stack) referring to it by id. What the
/// folded file, the flame graph, the table's top stacks and the JSON report are written from.
public struct SymbolizedStacks: Sendable {
    /// Time one thread spent in one state with one user stack and one kernel stack.
    public struct Sample: Sendable, Equatable {
        public var state: ThreadState
        /// Thread name (`comm`), as the kernel reports it.
        public var comm: String
        public var tid: Int32
        /// Ids in `table`: the user frames and the kernel frames (without a `_[k]` suffix).
        public var userStack: Int32
        public var kernelStack: Int32
        /// Time in `state` with these stacks, nanoseconds.
        public var valueNs: UInt64

        public init(state: ThreadState, comm: String, tid: Int32, userStack: Int32, kernelStack: Int32, valueNs: UInt64) {
            self.state = state
            self.comm = comm
            self.tid = tid
            self.userStack = userStack
            self.kernelStack = kernelStack
            self.valueNs = valueNs
        }
    }

    public var table: StackTable
    public var samples: [Sample]
    /// The addresses and mappings behind the stacks of `table`, where known (pprof).
    public var sites = StackSites()

    public init(table: StackTable = StackTable(), samples: [Sample] = []) {
        self.table = table
        self.samples = samples
    }
}
