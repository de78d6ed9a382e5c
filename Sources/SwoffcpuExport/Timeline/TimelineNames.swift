import SwoffcpuCore
import SwoffcpuResolve
import SwoffcpuSystem

/// Names for the timeline's outputs: threads (traced ones from their records, others from
/// /proc while they live), processes, locks (the lock report's names) and wait channels.
public struct TimelineNames: Sendable {
    public var threads: [Int32: (comm: String, tgid: Int32)] = [:]
    public var processes: [Int32: String] = [:]
    public var locks: [LockKey: (name: String, kind: String)] = [:]

    public struct LockKey: Hashable, Sendable {
        public var tgid: Int32
        public var uaddr: UInt64
    }

    public init(trace: ResolvedTrace, lookUpUntraced: Bool = true) {
        for p in trace.report.processes {
            processes[p.pid] = p.comm
            for t in p.threads { threads[t.tid] = (t.comm, t.tgid) }
        }
        for l in trace.locks?.all ?? [] { locks[LockKey(tgid: l.tgid, uaddr: l.uaddr)] = (l.name, l.kind.name) }
        guard lookUpUntraced, let timeline = trace.report.timeline else { return }
        var asked = Set<Int32>()
        for s in timeline.slices {
            guard let w = s.waker, w.context != .hardirq, threads[w.tid] == nil, !asked.contains(w.tid) else { continue }
            asked.insert(w.tid)
            if w.tid == 0 {
                threads[0] = ("swapper", 0)
            } else if let comm = ProcFS.comm(of: w.tid) {
                threads[w.tid] = (comm, w.tgid)
            }
        }
    }

    public init() {}

    /// `comm-TID`, or `tid TID` when not known.
    public func thread(_ tid: Int32) -> String {
        guard let t = threads[tid] else { return "tid \(tid)" }
        return "\(t.comm)-\(tid)"
    }

    public func node(_ node: WaitGraph.Node, traced: Set<Int32>) -> String {
        switch node {
        case .interrupt: return "[interrupt]"
        case .thread(let tid, let tgid):
            let name = thread(tid)
            if traced.contains(tid) { return name }
            return "\(name) (not traced, pid \(tgid))"
        }
    }

    /// A wait's channel: the lock's name, or the syscall.
    public func channel(_ c: WaitGraph.Channel) -> String {
        if c.isSyscall { return SyscallNames.name(c.value) }
        if c.state == .blocked {
            if let l = locks[LockKey(tgid: c.tgid, uaddr: c.value)] { return "\(l.kind) \(l.name)" }
            return "futex 0x\(String(c.value, radix: 16))"
        }
        return c.state.name
    }

    public func channel(of s: TimelineSlice) -> String {
        channel(WaitGraph.Channel(state: s.state, tgid: s.tgid, value: s.channel, isSyscall: s.channelIsSyscall))
    }
}
