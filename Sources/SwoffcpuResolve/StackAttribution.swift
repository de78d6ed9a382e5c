import SwoffcpuCore

/// One off-CPU stack's share of one thread's time in one state, in exact nanoseconds, with the
/// kernel's stack ids: the step before symbolization, which turns it into a
/// `SymbolizedStacks.Sample` (the one sample type the exporters see).
struct AttributedStack: Equatable, Sendable {
    enum Source: Equatable, Hashable, Sendable {
        /// A walked stack (the ids may still be `StackData.Marker`s for one side).
        case stack(user: UInt64, kernel: UInt64)
        /// Time of intervals no walk covered (e.g. a thread off-CPU since before the trace,
        /// with no walked interval of that state).
        case notSampled
        /// Walked, but the kernel's stack-time map was full.
        case lost
    }

    var tid: Int32
    var tgid: Int32
    var comm: String
    var state: ThreadState
    var source: Source
    var ns: UInt64

    init(tid: Int32, tgid: Int32, comm: String, state: ThreadState, source: Source, ns: UInt64) {
        self.tid = tid
        self.tgid = tgid
        self.comm = comm
        self.state = state
        self.source = source
        self.ns = ns
    }
}

/// Turns sampled, weighted stack times into exact shares of each thread's state totals.
///
/// For each thread and off-CPU state, the table's total T is exact. The kernel's
/// entries are unbiased estimates e_i (weighted by the sampling), plus l, the
/// weighted time it could not store. Each stack gets T·e_i/(Σe + l), the lost part
/// T·l/(Σe + l); with no estimate at all, T is "not sampled". Shares are rounded by
/// largest remainder, so they add up to T exactly: the flamegraph's total is the table's.
enum StackAttribution {
    static func attribute(_ data: StackData, threads: [ThreadRecord]) -> [AttributedStack] {
        // The entries of each (thread, state) in a fixed order (the kernel's map order is not):
        // sorted by thread, state, user stack and kernel stack, then taken as runs. Indices are
        // sorted, not the entries: a sorted copy of 200,000 entries added 10 MB to the peak.
        let all = data.entries
        var sorted = Array(all.indices)
        sorted.sort { key(all[$0]) < key(all[$1]) }
        var runs: [Group: Range<Int>] = [:]
        var start = 0
        while start < sorted.count {
            let first = all[sorted[start]]
            var end = start + 1
            while end < sorted.count && all[sorted[end]].tid == first.tid && all[sorted[end]].state == first.state { end += 1 }
            runs[Group(tid: first.tid, state: first.state)] = start..<end
            start = end
        }
        var out: [AttributedStack] = []
        out.reserveCapacity(all.count + threads.count * ThreadState.allCases.count)
        for thread in threads {
            // On-CPU time only when its stacks were sampled (--on-cpu).
            for state in ThreadState.allCases where state.isOffCPU || data.onCPUHz > 0 {
                let total = thread.times[state]
                guard total > 0 else { continue }
                let entries = runs[Group(tid: thread.tid, state: state)].map { sorted[$0].map { all[$0] } } ?? []
                let lost = thread.stackLostNs[state]
                var parts: [(AttributedStack.Source, UInt64)] = entries.map {
                    (.stack(user: $0.userStack, kernel: $0.kernelStack), $0.weightedNs)
                }
                if lost > 0 { parts.append((.lost, lost)) }
                let weights = parts.map(\.1)
                let shares = weights.reduce(0, +) > 0 ? split(total, by: weights) : []
                func emit(_ source: AttributedStack.Source, _ ns: UInt64) {
                    guard ns > 0 else { return }
                    out.append(AttributedStack(tid: thread.tid, tgid: thread.tgid, comm: thread.comm,
                                               state: state, source: source, ns: ns))
                }
                if shares.isEmpty {
                    emit(.notSampled, total)
                } else {
                    for (part, share) in zip(parts, shares) { emit(part.0, share) }
                }
            }
        }
        return out
    }

    private struct Group: Hashable {
        var tid: Int32
        var state: ThreadState
    }

    private static func key(_ e: StackData.Entry) -> (Int32, Int, UInt64, UInt64) {
        (e.tid, e.state.rawValue, e.userStack, e.kernelStack)
    }

    /// Splits `total` in proportion to `weights` (not all zero), summing exactly to `total`.
    static func split(_ total: UInt64, by weights: [UInt64]) -> [UInt64] {
        let sum = weights.reduce(0.0) { $0 + Double($1) }
        var shares = weights.map { UInt64((Double(total) * Double($0) / sum).rounded(.down)) }
        var rest = total - min(total, shares.reduce(0, +))
        if rest == 0 { return shares }
        // Largest remainders first; ties by position, so the result is deterministic.
        var order = weights.indices.map { (remainder: Double(total) * Double(weights[$0]) / sum - Double(shares[$0]), index: $0) }
        order.sort { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }
        var i = 0
        while rest > 0 && !order.isEmpty {
            let idx = order[i % order.count].index
            if weights[idx] > 0 { shares[idx] += 1; rest -= 1 }
            i += 1
        }
        return shares
    }
}
