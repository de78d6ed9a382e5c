import SwoffcpuCore
import SwoffcpuSymbolizer

/// Builds the lock report: frames through the stack resolver (so the same names, and the
/// same leaf-frame recovery, as the off-CPU stacks), lock names from the process snapshots.
public enum LockResolver {
    public static func report(_ report: TraceReport, resolver: StackResolver?) -> LockReport? {
        guard let data = report.locks else { return nil }
        let stacks = report.stacks
        // The threads' stack pointers tell whose stack an anonymous mapping is. Gathering them
        // goes through every stack entry (200,000 for 100,000 stacks), so it is done only for
        // a lock found in an anonymous mapping.
        var sps: [Int32: [Int32: [UInt64]]]?
        let symbols = LockReport.Symbols(
            userFrames: { tgid, id in
                guard let resolver, let stacks else { return [] }
                return resolver.userFrames(id, tgid: tgid, data: stacks)
            },
            kernelFrames: { id in
                guard let resolver, let stacks else { return [] }
                return resolver.kernelFrames(id, data: stacks)
            },
            lockName: { tgid, uaddr in
                guard let symbols = resolver?.processes[tgid] else { return nil }
                let named = symbols.symbolizeData(uaddr)
                guard named.region == .anonymous else { return named.name }
                if sps == nil { sps = stackPointers(report) }
                return symbols.symbolizeData(uaddr, stackPointers: sps?[tgid] ?? [:]).name
            })
        return LockReport(data, report: report, symbols: symbols)
    }

    /// Per process, per thread: the user stack pointers seen at stack walks (off-CPU
    /// stacks, waiters and wakers), to tell which anonymous mapping is whose stack.
    static func stackPointers(_ report: TraceReport) -> [Int32: [Int32: [UInt64]]] {
        guard let stacks = report.stacks else { return [:] }
        var tgidOf: [Int32: Int32] = [:]
        for p in report.processes { for t in p.threads { tgidOf[t.tid] = p.pid } }
        var out: [Int32: [Int32: Set<UInt64>]] = [:]
        func add(_ tgid: Int32?, _ tid: Int32, _ stack: UInt64) {
            guard let tgid, let sp = stacks.userLeafStackPointer(stack), sp != 0 else { return }
            out[tgid, default: [:]][tid, default: []].insert(sp)
        }
        for e in stacks.entries { add(tgidOf[e.tid], e.tid, e.userStack) }
        for w in report.locks?.wakers ?? [] {
            add(w.tgid, w.waiterTid, w.waiterUserStack)
            add(w.wakerTgid, w.wakerTid, w.wakerUserStack)
        }
        return out.mapValues { $0.mapValues { Array($0) } }
    }
}
