/// The critical path of one thread (`--critical-path`): where its wall time went, following
/// wakeups back across threads, as Perfetto's thread-state critical path does.
///
/// Over the thread's window, each of its on-CPU and runnable intervals is its own. Each wait
/// that someone ended is the waker's doing: the wait interval [a, b) is attributed to what
/// the waker did over [a, b) — its running and runnable time, and its own waits, followed in
/// turn to their wakers — recursively, at most `maxDepth` links deep and never back into a
/// thread already on the chain. What cannot be followed stays a wait: of the thread itself
/// (no waker seen: a timer, or still waiting at the end), or of an untraced waker (another
/// process, a kernel thread). Every nanosecond of the window is attributed once: the entries
/// add up to the window.
public struct CriticalPath: Sendable {
    public enum Who: Hashable, Sendable, Comparable {
        case thread(tid: Int32, tgid: Int32)
        /// A thread that was not traced: what it did is not known.
        case untraced(tid: Int32, tgid: Int32)
        /// Time the timeline does not cover (slices dropped).
        case unknown

        public var tid: Int32? {
            switch self {
            case .thread(let t, _), .untraced(let t, _): t
            case .unknown: nil
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var who: Who
        /// The state of `who` (nil for an untraced thread or the unknown).
        public var state: ThreadState?
        public var ns: UInt64
        /// How many wakeup links away from the target (0: the target itself), the nearest seen.
        public var depth: Int
    }

    public var target: Int32
    public var startNs: UInt64
    public var endNs: UInt64
    /// Largest first; they add up to `endNs - startNs`.
    public var entries: [Entry]
    /// Of the target's wall time, what was its own on-CPU, runnable, and waiting (not followed).
    public var windowNs: UInt64 { endNs > startNs ? endNs - startNs : 0 }

    public static let maxDepth = 16

    /// Nil when the target has no slice.
    public init?(target: Int32, timeline: TimelineData, maxDepth: Int = CriticalPath.maxDepth) {
        self.init(target: target, byThread: timeline.byThread(), maxDepth: maxDepth)
    }

    public init?(target: Int32, byThread: [Int32: [TimelineSlice]], maxDepth: Int = CriticalPath.maxDepth) {
        guard let own = byThread[target], let first = own.first, let last = own.last else { return nil }
        self.target = target
        startNs = first.startNs
        endNs = own.reduce(last.endNs) { max($0, $1.endNs) }
        var acc: [Key: (ns: UInt64, depth: Int)] = [:]
        var walker = Walker(byThread: byThread, maxDepth: maxDepth)
        walker.walk(tid: target, tgid: first.tgid, from: startNs, to: endNs, depth: 0, chain: [target]) { key, ns, depth in
            let old = acc[key] ?? (0, depth)
            acc[key] = (old.ns + ns, min(old.depth, depth))
        }
        entries = acc.map { Entry(who: $0.key.who, state: $0.key.state, ns: $0.value.ns, depth: $0.value.depth) }
            .sorted { ($0.ns, $1.who, $1.state?.rawValue ?? -1) > ($1.ns, $0.who, $0.state?.rawValue ?? -1) }
    }

    /// The time attributed to `who` (any state).
    public func ns(of tid: Int32) -> UInt64 {
        entries.reduce(0) { $0 + ($1.who.tid == tid ? $1.ns : 0) }
    }

    public func ns(of tid: Int32, state: ThreadState) -> UInt64 {
        entries.reduce(0) { $0 + ($1.who.tid == tid && $1.state == state ? $1.ns : 0) }
    }

    struct Key: Hashable {
        var who: Who
        var state: ThreadState?
    }

    struct Walker {
        let byThread: [Int32: [TimelineSlice]]
        let maxDepth: Int

        /// The slices of `tid` overlapping [from, to), by binary search on their ends.
        func overlapping(_ slices: [TimelineSlice], from: UInt64, to: UInt64) -> ArraySlice<TimelineSlice> {
            var lo = 0, hi = slices.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if slices[mid].endNs <= from { lo = mid + 1 } else { hi = mid }
            }
            var end = lo
            while end < slices.count && slices[end].startNs < to { end += 1 }
            return slices[lo..<end]
        }

        mutating func walk(tid: Int32, tgid: Int32, from: UInt64, to: UInt64, depth: Int, chain: Set<Int32>,
                           add: (Key, UInt64, Int) -> Void) {
            guard from < to else { return }
            let me = Who.thread(tid: tid, tgid: tgid)
            guard let slices = byThread[tid] else {
                add(Key(who: .untraced(tid: tid, tgid: tgid), state: nil), to - from, depth)
                return
            }
            var cursor = from
            for s in overlapping(slices, from: from, to: to) {
                let a = max(s.startNs, from), b = min(s.endNs, to)
                guard a < b else { continue }
                if a > cursor { add(Key(who: .unknown, state: nil), a - cursor, depth) } // dropped slices
                cursor = max(cursor, b)
                guard s.isWait, let w = s.waker, w.context != .hardirq, w.tid != tid else {
                    add(Key(who: me, state: s.state), b - a, depth)
                    continue
                }
                if byThread[w.tid] == nil {
                    add(Key(who: .untraced(tid: w.tid, tgid: w.tgid), state: nil), b - a, depth + 1)
                } else if depth + 1 > maxDepth || chain.contains(w.tid) {
                    add(Key(who: me, state: s.state), b - a, depth)
                } else {
                    walk(tid: w.tid, tgid: w.tgid, from: a, to: b, depth: depth + 1, chain: chain.union([w.tid]), add: add)
                }
            }
            if cursor < to { add(Key(who: .unknown, state: nil), to - cursor, depth) }
        }
    }
}
