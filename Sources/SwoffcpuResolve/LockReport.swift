import SwoffcpuCore

/// The kernel's futex tables (`LockData`) turned into a per-lock report: which lock, of what
/// kind, how long threads waited on it, where they waited and who released them.
///
/// A lock is a futex word of one process: (tgid, uaddr). Its numbers come from two sources:
///
/// - `LockData.waits` (exact, every wait): total, count, longest wait, the waiting threads.
/// - `LockData.wakers` (the waits whose stacks were walked; sampled like the off-CPU stacks,
///   each counted `weight` times): the waiter's stacks and the releaser's thread and stacks,
///   weighted by the wait their wakeup ended. Waiter stacks come from here, not from the
///   `blocked` entries of the stack table, because only these carry the futex address: a
///   thread that waits on two locks has its stacks split correctly between them. Waits that
///   had not ended when the trace stopped, and waits ended by a timeout while the CPU was idle,
///   have no entry here: their time is in the totals but in no stack.
///
/// Shares of stacks and releasers are fractions of the lock's weighted total (`sampledNs`).
public struct LockReport: Sendable {
    /// One stack of a lock's waiters or releasers, merged over threads.
    public struct Stack: Sendable, Equatable {
        /// Leaf first.
        public var userFrames: [String]
        public var kernelFrames: [String]
        /// Wait ended (releaser stacks) or waited (waiter stacks), weighted by the sampling.
        public var weightedNs: UInt64
        public var wakeups: UInt64

        public init(userFrames: [String], kernelFrames: [String], weightedNs: UInt64, wakeups: UInt64) {
            self.userFrames = userFrames
            self.kernelFrames = kernelFrames
            self.weightedNs = weightedNs
            self.wakeups = wakeups
        }
    }

    /// A waiting thread (`ns`: its exact wait on this lock, `count`: its waits) or a releasing
    /// thread (`ns`: the weighted wait its wakeups ended, `count`: wakeups).
    public struct Thread: Sendable, Equatable {
        public var tid: Int32
        public var tgid: Int32
        /// Thread name, or "" when the thread was not traced (a releaser in another process).
        public var comm: String
        public var ns: UInt64
        public var count: UInt64

        public init(tid: Int32, tgid: Int32, comm: String, ns: UInt64, count: UInt64) {
            self.tid = tid
            self.tgid = tgid
            self.comm = comm
            self.ns = ns
            self.count = count
        }

        /// `comm-TID`, `tid TID` for an untraced thread, `[timeout]` for a timer's wakeup.
        public var label: String {
            if comm.hasPrefix("[") { return comm }
            return comm.isEmpty ? "tid \(tid)" : "\(comm)-\(tid)"
        }

        /// Stands for the releaser of waits a timer ended (a timeout, not a release).
        public static let timeoutComm = "[timeout]"
    }

    /// One wakeup pairing (waiter stacks, releaser and its stacks): the folded wakers' lines.
    public struct Wakeup: Sendable, Equatable {
        public var waiter: Thread
        public var waiterUserFrames: [String]
        public var waiterKernelFrames: [String]
        public var waker: Thread
        public var wakerUserFrames: [String]
        public var wakerKernelFrames: [String]
        public var weightedNs: UInt64
        public var wakeups: UInt64
    }

    public struct Lock: Sendable {
        public var tgid: Int32
        /// The process's name.
        public var comm: String
        public var uaddr: UInt64
        /// The lock's name: `g_cache_lock`, `g_struct+0x28`, `[heap] 0x55…`, or the bare address.
        public var name: String
        public var kind: LockKind
        /// The futex op with the most wait time, and every op seen (most wait first).
        public var op: LockData.Op
        public var ops: [LockData.Op]
        /// Exact: total wait, number of waits, the longest.
        public var waitNs: UInt64
        public var waits: UInt64
        public var maxWaitNs: UInt64
        /// Distinct waiting threads, most wait first.
        public var waiters: [Thread]
        /// Σ weightedNs of the lock's recorded wakeups: the whole that shares are fractions of.
        public var sampledNs: UInt64
        public var waiterStacks: [Stack]
        public var releaserStacks: [Stack]
        /// Releasing threads, most wait ended first.
        public var releasers: [Thread]
        public var wakeups: [Wakeup]

        public var averageNs: UInt64 { waits > 0 ? waitNs / waits : 0 }
        public var isIdle: Bool { kind.isIdle }
    }

    /// Mutexes, rwlocks, other and unknown futexes: most total wait first.
    public var contended: [Lock]
    /// Condition variables, semaphores, barriers, joins: most total wait first.
    public var idle: [Lock]
    /// Futex waits not summed because the kernel's table was full, and their time.
    public var waitsDropped: UInt64
    public var waitsDroppedNs: UInt64
    /// Wakeups (releasers) not recorded because the kernel's table was full.
    public var wakersDropped: UInt64

    public var all: [Lock] { (contended + idle).sorted(by: LockReport.order) }

    /// What the report needs from symbolization; every closure may be called many times.
    public struct Symbols {
        /// A user stack of a process, leaf first (`StackData` ids; markers too).
        public var userFrames: (_ tgid: Int32, _ stack: UInt64) -> [String]
        /// A kernel stack, leaf first.
        public var kernelFrames: (_ stack: UInt64) -> [String]
        /// The name of a futex address of a process (nil: printed as the address).
        public var lockName: (_ tgid: Int32, _ uaddr: UInt64) -> String?

        public init(userFrames: @escaping (Int32, UInt64) -> [String] = { _, _ in [] },
                    kernelFrames: @escaping (UInt64) -> [String] = { _ in [] },
                    lockName: @escaping (Int32, UInt64) -> String? = { _, _ in nil }) {
            self.userFrames = userFrames
            self.kernelFrames = kernelFrames
            self.lockName = lockName
        }
    }

    /// Most wait first; ties by process then address, so the order is deterministic.
    public static func order(_ a: Lock, _ b: Lock) -> Bool {
        if a.waitNs != b.waitNs { return a.waitNs > b.waitNs }
        if a.tgid != b.tgid { return a.tgid < b.tgid }
        return a.uaddr < b.uaddr
    }

    /// The address as printed when no name is known.
    public static func hexAddress(_ uaddr: UInt64) -> String { "0x" + String(uaddr, radix: 16) }

    public init(contended: [Lock] = [], idle: [Lock] = [], waitsDropped: UInt64 = 0, waitsDroppedNs: UInt64 = 0,
                wakersDropped: UInt64 = 0) {
        self.contended = contended
        self.idle = idle
        self.waitsDropped = waitsDropped
        self.waitsDroppedNs = waitsDroppedNs
        self.wakersDropped = wakersDropped
    }

    /// Aggregates `data` per lock. `report` gives thread and process names (optional).
    public init(_ data: LockData, report: TraceReport? = nil, symbols: Symbols = Symbols()) {
        var comms: [Int32: String] = [:]
        var processComms: [Int32: String] = [:]
        for p in report?.processes ?? [] {
            processComms[p.pid] = p.comm
            for t in p.threads { comms[t.tid] = t.comm }
        }
        struct Key: Hashable { var tgid: Int32; var uaddr: UInt64 }
        struct Acc {
            var waitNs: UInt64 = 0
            var waits: UInt64 = 0
            var maxWaitNs: UInt64 = 0
            var byOp: [LockData.Op: UInt64] = [:]
            var byWaiter: [Int32: (ns: UInt64, count: UInt64)] = [:]
            var wakers: [LockData.Waker] = []
        }
        var locks: [Key: Acc] = [:]
        for w in data.waits {
            let key = Key(tgid: w.tgid, uaddr: w.uaddr)
            // Taken out while it changes: a copy left in the table would make each change of its
            // per-waiter table copy it whole (10,000 threads on one condition variable).
            var acc = locks.removeValue(forKey: key) ?? Acc()
            acc.waitNs = acc.waitNs.addingOrMax(w.waitNs)
            acc.waits = acc.waits.addingOrMax(w.waits)
            acc.maxWaitNs = max(acc.maxWaitNs, w.maxWaitNs)
            acc.byOp[w.op, default: 0] = acc.byOp[w.op, default: 0].addingOrMax(w.waitNs)
            let old = acc.byWaiter[w.tid] ?? (0, 0)
            acc.byWaiter[w.tid] = (old.ns.addingOrMax(w.waitNs), old.count.addingOrMax(w.waits))
            locks[key] = acc
        }
        for k in data.wakers {
            // A wakeup always ends a wait that `waits` summed; one without (its table was full)
            // still names its lock.
            locks[Key(tgid: k.tgid, uaddr: k.uaddr), default: Acc()].wakers.append(k)
        }

        // Frames are looked up once per (process, id).
        var userCache: [Key: [String]] = [:]
        var kernelCache: [UInt64: [String]] = [:]
        func user(_ tgid: Int32, _ id: UInt64) -> [String] {
            let key = Key(tgid: tgid, uaddr: id)
            if let f = userCache[key] { return f }
            let f = symbols.userFrames(tgid, id)
            userCache[key] = f
            return f
        }
        func kernel(_ id: UInt64) -> [String] {
            if let f = kernelCache[id] { return f }
            let f = symbols.kernelFrames(id)
            kernelCache[id] = f
            return f
        }
        // The kind a wakeup's stacks say, found once per set of stacks.
        struct StacksKey: Hashable {
            var tgid: Int32, waiterUser: UInt64, wakerTgid: Int32, wakerUser: UInt64, wakerKernel: UInt64
        }
        var kinds: [StacksKey: LockKind] = [:]
        func thread(_ tid: Int32, _ tgid: Int32, ns: UInt64, count: UInt64) -> Thread {
            Thread(tid: tid, tgid: tgid, comm: comms[tid] ?? "", ns: ns, count: count)
        }

        var contended: [Lock] = [], idle: [Lock] = []
        for (key, acc) in locks {
            let ops = acc.byOp.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.name < $1.key.name }.map(\.key)
            let op = ops.first ?? .wait
            var wakeups: [Wakeup] = []
            var kindWeights: [LockKind: UInt64] = [:]
            var sampled: UInt64 = 0
            for k in acc.wakers.sorted(by: Self.wakerOrder) {
                // Marker ids (no walk, walk failed, waiting since before the trace…) go to the
                // symbols too: they print what they mean. Id 0 (not walked) is no frame at all.
                let waiterUser = k.waiterUserStack == 0 ? [] : user(key.tgid, k.waiterUserStack)
                var wu = Wakeup(
                    waiter: thread(k.waiterTid, key.tgid, ns: k.weightedNs, count: k.wakeups),
                    waiterUserFrames: waiterUser,
                    waiterKernelFrames: k.waiterKernelStack == 0 ? [] : kernel(k.waiterKernelStack),
                    waker: thread(k.wakerTid, k.wakerTgid, ns: k.weightedNs, count: k.wakeups),
                    wakerUserFrames: k.wakerUserStack == 0 ? [] : user(k.wakerTgid, k.wakerUserStack),
                    wakerKernelFrames: k.wakerKernelStack == 0 ? [] : kernel(k.wakerKernelStack),
                    weightedNs: k.weightedNs, wakeups: k.wakeups)
                wakeups.append(wu)
                sampled = sampled.addingOrMax(k.weightedNs)
                let stacksKey = StacksKey(tgid: key.tgid, waiterUser: k.waiterUserStack, wakerTgid: k.wakerTgid,
                                          wakerUser: k.wakerUserStack, wakerKernel: k.wakerKernelStack)
                let kind = kinds[stacksKey] ?? LockClassifier.kind(op: .wait, waiterUserFrames: waiterUser,
                                                                   wakerUserFrames: wu.wakerUserFrames,
                                                                   wakerKernelFrames: wu.wakerKernelFrames)
                kinds[stacksKey] = kind
                kindWeights[kind, default: 0] = kindWeights[kind, default: 0].addingOrMax(max(k.weightedNs, 1))
                // A timer's wakeup runs in whatever the interrupt hit: not that thread, nor its
                // stacks, released the waiter — the timer did.
                if Self.isTimerWakeup(wu.wakerKernelFrames) {
                    wu.waker = Thread(tid: 0, tgid: 0, comm: Thread.timeoutComm, ns: k.weightedNs, count: k.wakeups)
                    wu.wakerUserFrames = []
                    wu.wakerKernelFrames = Self.timerPath(wu.wakerKernelFrames)
                }
                wakeups[wakeups.count - 1] = wu
            }
            let kind = Self.kind(ops: ops, frameVotes: kindWeights)
            let waiters = acc.byWaiter.map { thread($0.key, key.tgid, ns: $0.value.ns, count: $0.value.count) }
                .sorted(by: Self.threadOrder)
            let lock = Lock(
                tgid: key.tgid, comm: processComms[key.tgid] ?? "", uaddr: key.uaddr,
                name: symbols.lockName(key.tgid, key.uaddr) ?? Self.hexAddress(key.uaddr),
                kind: kind, op: op, ops: ops, waitNs: acc.waitNs, waits: acc.waits, maxWaitNs: acc.maxWaitNs,
                waiters: waiters, sampledNs: sampled,
                waiterStacks: Self.merge(wakeups.map { ($0.waiterUserFrames, $0.waiterKernelFrames, $0.weightedNs, $0.wakeups) }),
                releaserStacks: Self.merge(wakeups.map { ($0.wakerUserFrames, $0.wakerKernelFrames, $0.weightedNs, $0.wakeups) }),
                releasers: Self.releasers(wakeups),
                wakeups: wakeups)
            if kind.isIdle { idle.append(lock) } else { contended.append(lock) }
        }
        self.init(contended: contended.sorted(by: Self.order), idle: idle.sorted(by: Self.order),
                  waitsDropped: data.waitsDropped, waitsDroppedNs: data.waitsDroppedNs, wakersDropped: data.wakersDropped)
    }

    /// The lock's kind: the op when it decides (PI), else the kind most of the classified
    /// waiter stacks' weight says, else (no stack classified) `unknown`.
    static func kind(ops: [LockData.Op], frameVotes: [LockKind: UInt64]) -> LockKind {
        for op in ops { if let k = LockClassifier.kind(op: op) { return k } }
        let known = frameVotes.filter { $0.key != .unknown && $0.key != .otherFutex }
        let pool = known.isEmpty ? frameVotes.filter { $0.key != .unknown } : known
        guard let best = pool.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key.token > $1.key.token }) else {
            return .unknown
        }
        return best.key
    }

    private static func wakerOrder(_ a: LockData.Waker, _ b: LockData.Waker) -> Bool {
        if a.weightedNs != b.weightedNs { return a.weightedNs > b.weightedNs }
        if a.waiterTid != b.waiterTid { return a.waiterTid < b.waiterTid }
        if a.wakerTid != b.wakerTid { return a.wakerTid < b.wakerTid }
        return (a.waiterUserStack, a.waiterKernelStack, a.wakerUserStack, a.wakerKernelStack)
            < (b.waiterUserStack, b.waiterKernelStack, b.wakerUserStack, b.wakerKernelStack)
    }

    static func threadOrder(_ a: Thread, _ b: Thread) -> Bool {
        a.ns != b.ns ? a.ns > b.ns : a.tid < b.tid
    }

    /// Merges equal (user, kernel) frame lists; most weight first.
    static func merge(_ items: [([String], [String], UInt64, UInt64)]) -> [Stack] {
        struct K: Hashable { var u: [String]; var k: [String] }
        var order: [K] = []
        var sums: [K: (UInt64, UInt64)] = [:]
        for (u, k, ns, n) in items {
            let key = K(u: u, k: k)
            if let s = sums[key] {
                sums[key] = (s.0.addingOrMax(ns), s.1.addingOrMax(n))
            } else {
                sums[key] = (ns, n)
                order.append(key)
            }
        }
        return order.map { Stack(userFrames: $0.u, kernelFrames: $0.k, weightedNs: sums[$0]!.0, wakeups: sums[$0]!.1) }
            .sorted {
                $0.weightedNs != $1.weightedNs ? $0.weightedNs > $1.weightedNs
                    : ($0.userFrames + $0.kernelFrames).lexicographicallyPrecedes($1.userFrames + $1.kernelFrames)
            }
    }

    /// Releasing threads. A wakeup from a timer (`hrtimer_wakeup` in the waker's kernel
    /// stack: a timed wait expired) runs in whatever thread the interrupt hit: it is counted
    /// as `[timeout]` (tid 0), not as that thread.
    static func releasers(_ wakeups: [Wakeup]) -> [Thread] {
        var byTid: [Int32: Thread] = [:]
        for w in wakeups {
            var waker = w.waker
            if isTimerWakeup(w.wakerKernelFrames) {
                waker = Thread(tid: 0, tgid: 0, comm: Thread.timeoutComm, ns: w.weightedNs, count: w.wakeups)
            }
            if var t = byTid[waker.tid] {
                t.ns = t.ns.addingOrMax(w.weightedNs)
                t.count = t.count.addingOrMax(w.wakeups)
                byTid[waker.tid] = t
            } else {
                byTid[waker.tid] = waker
            }
        }
        return byTid.values.sorted(by: threadOrder)
    }

    /// The timer's part of a timer wakeup's kernel stack: up to the interrupt's entry
    /// (`asm_sysvec_apic_timer_interrupt`…); what follows is the context it interrupted.
    static func timerPath(_ kernelFrames: [String]) -> [String] {
        guard let i = kernelFrames.firstIndex(where: { $0.hasPrefix("asm_") }) else { return kernelFrames }
        return Array(kernelFrames[...i])
    }

    /// The waker's kernel stack shows a timer expiring (hrtimer_wakeup), not a futex wake.
    public static func isTimerWakeup(_ kernelFrames: [String]) -> Bool {
        kernelFrames.contains { $0 == "hrtimer_wakeup" || $0.hasPrefix("hrtimer_wakeup") }
    }
}

extension LockReport.Lock {
    /// The name with, for a region or a bare address, nothing more; callers print the address
    /// next to it when the name is not a symbol.
    public var isNamedBySymbol: Bool { !name.hasPrefix("[") && !name.hasPrefix("0x") }
}

extension UInt64 {
    /// `self + other`, or `UInt64.max` where that would overflow.
    func addingOrMax(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
