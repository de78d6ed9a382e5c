import SwoffcpuCore
import SwoffcpuExport
import SwoffcpuResolve

/// A sample with its frame names spelled out, for writing small stack sets by hand in tests;
/// the shipped code works on `SymbolizedStacks.Sample`, whose frames are ids in a `StackTable`.
public struct StackSample: Sendable, Equatable {
    public var state: ThreadState
    /// Thread name (`comm`), as the kernel reports it.
    public var comm: String
    public var tid: Int32
    /// Symbolized user-space frames, leaf first, as unwound.
    public var userFrames: [String]
    /// Symbolized kernel frames, leaf first, as unwound. Without the `_[k]` suffix.
    public var kernelFrames: [String]
    /// Time in `state` with this stack, nanoseconds.
    public var valueNs: UInt64

    public init(state: ThreadState, comm: String, tid: Int32, userFrames: [String] = [],
                kernelFrames: [String] = [], valueNs: UInt64) {
        self.state = state
        self.comm = comm
        self.tid = tid
        self.userFrames = userFrames
        self.kernelFrames = kernelFrames
        self.valueNs = valueNs
    }
}

extension SymbolizedStacks {
    /// From samples that hold their frame names: the names and stacks interned.
    public init<S: Sequence>(_ named: S) where S.Element == StackSample {
        self.init()
        for s in named {
            samples.append(Sample(state: s.state, comm: s.comm, tid: s.tid, userStack: table.add(names: s.userFrames),
                                  kernelStack: table.add(names: s.kernelFrames), valueNs: s.valueNs))
        }
    }

    /// The samples with their frame names.
    public var named: [StackSample] {
        samples.map {
            StackSample(state: $0.state, comm: $0.comm, tid: $0.tid, userFrames: table.names($0.userStack),
                        kernelFrames: table.names($0.kernelStack), valueNs: $0.valueNs)
        }
    }
}

extension FoldedWriter {
    public func fold<S: Sequence>(_ samples: S) -> FoldedResult where S.Element == StackSample {
        fold(SymbolizedStacks(samples))
    }

    public func render<S: Sequence>(_ samples: S) -> String where S.Element == StackSample {
        fold(samples).text
    }

    /// The frames of one sample's line, root first, already sanitized.
    public func frames(for sample: StackSample) -> [String] {
        let folded = FoldedWriter(options: .init(includeThread: options.includeThread, unit: options.unit,
                                                 keepZeroLines: true)).fold([sample])
        return folded.stacks.first?.frames ?? []
    }
}

extension TopStacks {
    public func render(_ samples: [StackSample], note: String? = nil) -> String {
        render(SymbolizedStacks(samples), note: note)
    }

    public func rows(_ samples: [StackSample], limit: Int? = nil) -> [ThreadState: [Row]] {
        rows(SymbolizedStacks(samples), limit: limit)
    }
}
