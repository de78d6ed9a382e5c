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

    public init(table: StackTable = StackTable(), samples: [Sample] = []) {
        self.table = table
        self.samples = samples
    }

    /// From samples that hold their frame names: the names and stacks interned.
    public init<S: Sequence>(_ named: S) where S.Element == StackSample {
        self.init()
        for s in named {
            samples.append(Sample(state: s.state, comm: s.comm, tid: s.tid, userStack: table.add(names: s.userFrames),
                                  kernelStack: table.add(names: s.kernelFrames), valueNs: s.valueNs))
        }
    }

    /// The samples with their frame names (for small sets: tests, examples).
    public var named: [StackSample] {
        samples.map {
            StackSample(state: $0.state, comm: $0.comm, tid: $0.tid, userFrames: table.names($0.userStack),
                        kernelFrames: table.names($0.kernelStack), valueNs: $0.valueNs)
        }
    }
}
