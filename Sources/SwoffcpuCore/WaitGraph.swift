/// Who waits on whom (`--waits`, `--wait-graph`): a wait-for graph built from the timeline,
/// after wPerf (Zhou et al., OSDI '18). Each wait of a traced thread that someone ended is an
/// edge from the waiter to its waker, weighted by the wait's length: futex waits (the
/// releaser), pipes, sockets, condition variables, thread exits — any wakeup sched_waking saw.
/// Waits ended by a hardware interrupt (timers, devices) go to one `interrupt` node.
///
/// Knots: wPerf's bottlenecks. Edges a waiter spends little of its time on are trimmed
/// (below `knotEdgeShare` of the waiter's time on-CPU or waiting, its runnable time left
/// out: that is a wait for a CPU, not for a thread, and it grows with the machine's load);
/// the strongly connected groups of what
/// is left that have no edge out are groups of threads that wait on each other — or one
/// thread that waits on no one — and that others wait on. Its bottom: the member others
/// wait on most; its lock: the futex that the waits ended by its members were on most.
public struct WaitGraph: Sendable {
    public enum Node: Hashable, Sendable, Comparable {
        case thread(tid: Int32, tgid: Int32)
        case interrupt

        public var tid: Int32? {
            if case .thread(let tid, _) = self { return tid }
            return nil
        }

        public static func < (a: Node, b: Node) -> Bool {
            switch (a, b) {
            case (.thread(let x, _), .thread(let y, _)): x < y
            case (.thread, .interrupt): true
            default: false
            }
        }
    }

    /// What a wait was on: a futex word of a process, or a syscall.
    public struct Channel: Hashable, Sendable {
        public var state: ThreadState
        public var tgid: Int32
        public var value: UInt64
        public var isSyscall: Bool

        public init(state: ThreadState, tgid: Int32, value: UInt64, isSyscall: Bool) {
            self.state = state
            self.tgid = tgid
            self.value = value
            self.isSyscall = isSyscall
        }

        /// A futex word (a lock, a condition variable).
        public var isLock: Bool { state == .blocked && value != 0 }
    }

    public struct Edge: Sendable {
        public var waiter: Node
        public var waker: Node
        public var ns: UInt64
        public var waits: UInt64
        /// The wait per channel, largest first.
        public var channels: [(channel: Channel, ns: UInt64)]
    }

    public struct Knot: Sendable {
        /// Members, the bottom first.
        public var members: [Node]
        public var bottom: Node
        /// The futex most of the waits its members ended were on, if they were futex waits.
        public var lock: Channel?
        /// Wait of other nodes ended by members.
        public var waitedOnNs: UInt64
        /// Wait among members, and all the wait of members (that someone ended).
        public var internalNs: UInt64
        public var membersWaitNs: UInt64
    }

    public var edges: [Edge]
    /// Per traced thread: waits no one was seen to end (still waiting at the end, or a
    /// wakeup not seen), and the total of its woken waits.
    public var unwokenNs: [Int32: UInt64]
    public var wokenNs: [Int32: UInt64]
    /// The threads that were traced (have slices).
    public var traced: Set<Int32>
    /// Per traced thread: the time its slices cover, less its runnable time.
    public var tracedNs: [Int32: UInt64]

    /// A thread that spends less than this share of its time waiting on another does not
    /// "wait on" it for the knots: a bottleneck waits a little too (a full queue now and then).
    public static let knotEdgeShare = 0.2

    public init(timeline: TimelineData) {
        struct Key: Hashable { var waiter: Node; var waker: Node }
        var acc: [Key: (ns: UInt64, waits: UInt64, channels: [Channel: UInt64])] = [:]
        var unwoken: [Int32: UInt64] = [:], woken: [Int32: UInt64] = [:]
        var traced = Set<Int32>()
        var tracedNs: [Int32: UInt64] = [:]
        for s in timeline.slices {
            traced.insert(s.tid)
            if s.state != .runnable { tracedNs[s.tid, default: 0] += s.durationNs }
            guard s.isWait else { continue }
            guard let w = s.waker else {
                unwoken[s.tid, default: 0] += s.durationNs
                continue
            }
            let waker: Node = w.context == .hardirq ? .interrupt : .thread(tid: w.tid, tgid: w.tgid)
            let waiter = Node.thread(tid: s.tid, tgid: s.tgid)
            if waker == waiter { // a thread's own signal, say: no one else to wait on
                unwoken[s.tid, default: 0] += s.durationNs
                continue
            }
            woken[s.tid, default: 0] += s.durationNs
            let ch = Channel(state: s.state, tgid: s.tgid, value: s.channel, isSyscall: s.channelIsSyscall)
            var e = acc[Key(waiter: waiter, waker: waker)] ?? (0, 0, [:])
            e.ns += s.durationNs
            e.waits += 1
            e.channels[ch, default: 0] += s.durationNs
            acc[Key(waiter: waiter, waker: waker)] = e
        }
        edges = acc.map { k, v in
            Edge(waiter: k.waiter, waker: k.waker, ns: v.ns, waits: v.waits,
                 channels: v.channels.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.value < $1.0.value })
        }.sorted { $0.ns != $1.ns ? $0.ns > $1.ns : ($0.waiter, $0.waker) < ($1.waiter, $1.waker) }
        unwokenNs = unwoken
        wokenNs = woken
        self.traced = traced
        self.tracedNs = tracedNs
    }

    /// Wait of others ended by `node`.
    public func waitedOnNs(_ node: Node) -> UInt64 {
        edges.reduce(0) { $0 + ($1.waker == node ? $1.ns : 0) }
    }

    /// The knots, the one others wait on most first.
    public func knots(edgeShare: Double = WaitGraph.knotEdgeShare) -> [Knot] {
        // Trim: keep the edges a waiter spends at least `edgeShare` of its time on.
        let kept = edges.filter { e in
            e.ns > 0 && Double(e.ns) >= edgeShare * Double(e.waiter.tid.flatMap { tracedNs[$0] } ?? 0)
        }
        let nodes = Array(Set(kept.flatMap { [$0.waiter, $0.waker] })).sorted()
        var adj: [Node: [Node]] = [:]
        for e in kept { adj[e.waiter, default: []].append(e.waker) }
        let sccs = Self.stronglyConnected(nodes: nodes, adj: adj)
        var knots: [Knot] = []
        for scc in sccs {
            let members = Set(scc)
            if members == [.interrupt] { continue } // timers and devices: shown apart
            // No kept edge out of the group.
            if kept.contains(where: { members.contains($0.waiter) && !members.contains($0.waker) }) { continue }
            // Someone waits on it: an edge into it (from outside, or inside a group).
            let into = edges.filter { members.contains($0.waker) && !members.contains($0.waiter) }
            let inside = edges.filter { members.contains($0.waker) && members.contains($0.waiter) }
            let waitedOn = into.reduce(0) { $0 + $1.ns }
            let internalNs = inside.reduce(0) { $0 + $1.ns }
            if waitedOn == 0 && internalNs == 0 { continue }
            let membersWait = edges.filter { members.contains($0.waiter) }.reduce(0) { $0 + $1.ns }
            var byMember: [Node: UInt64] = [:]
            for e in into + inside { byMember[e.waker, default: 0] += e.ns }
            let ordered = scc.sorted { (byMember[$0] ?? 0, $1) > (byMember[$1] ?? 0, $0) }
            var locks: [Channel: UInt64] = [:]
            for e in into + inside { for c in e.channels where c.channel.isLock { locks[c.channel, default: 0] += c.ns } }
            let lock = locks.max { ($0.value, $1.key.value) < ($1.value, $0.key.value) }?.key
            knots.append(Knot(members: ordered, bottom: ordered[0], lock: lock, waitedOnNs: waitedOn,
                              internalNs: internalNs, membersWaitNs: membersWait))
        }
        return knots.sorted { ($0.waitedOnNs + $0.internalNs, $1.bottom) > ($1.waitedOnNs + $1.internalNs, $0.bottom) }
    }

    /// Tarjan's algorithm, iterative: the strongly connected components.
    static func stronglyConnected(nodes: [Node], adj: [Node: [Node]]) -> [[Node]] {
        var index: [Node: Int] = [:], low: [Node: Int] = [:]
        var onStack = Set<Node>(), stack: [Node] = [], out: [[Node]] = []
        var next = 0
        for root in nodes where index[root] == nil {
            var work: [(node: Node, edge: Int)] = [(root, 0)]
            index[root] = next; low[root] = next; next += 1
            stack.append(root); onStack.insert(root)
            while !work.isEmpty {
                let (v, i) = work[work.count - 1]
                let succ = adj[v] ?? []
                if i < succ.count {
                    work[work.count - 1].edge += 1
                    let w = succ[i]
                    if index[w] == nil {
                        index[w] = next; low[w] = next; next += 1
                        stack.append(w); onStack.insert(w)
                        work.append((w, 0))
                    } else if onStack.contains(w) {
                        low[v] = min(low[v]!, index[w]!)
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last?.node { low[parent] = min(low[parent]!, low[v]!) }
                if low[v] == index[v] {
                    var comp: [Node] = []
                    while let w = stack.popLast() {
                        onStack.remove(w)
                        comp.append(w)
                        if w == v { break }
                    }
                    out.append(comp)
                }
            }
        }
        return out
    }
}
