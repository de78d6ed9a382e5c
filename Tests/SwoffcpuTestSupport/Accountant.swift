import SwoffcpuCore

/// A pure-Swift model of the per-thread state machine in bpf/swoffcpu.bpf.c, so the
/// accounting rules can be tested on synthetic event sequences.
///
/// Feed it `SchedEvent`s in the order they would reach the BPF programs (events of two CPUs
/// interleaved as they please), then call `finish(windowEnd:)`. Rules, as in the BPF:
///
/// - A thread is traced from its `seed` (existing at window start) or from its `fork` by a traced
///   thread (born, runnable). Events of untraced threads are ignored.
/// - `switchOut`: preempted or TASK_RUNNING -> runnable; TASK_UNINTERRUPTIBLE -> sleep D;
///   futex wait -> blocked; otherwise sleep. Counts a switch.
/// - `wakeup` of a thread in sleep, sleep D or blocked notes when the kernel queued it (as the
///   kernel's `sched_info.last_queued`); nothing is accounted then. At its `switchIn` (or at the
///   window end, still queued) the wait ends at that instant, clamped into the interval; the
///   thread is runnable from then on, and a wakeup is counted (also when no queueing was seen:
///   a zero-length runnable part). `switchIn` -> on-CPU.
/// - `exit` closes the record at the exit (exited, `endNs` = exit time) and stops tracing the tid.
/// - Events after the window end are ignored: the record is frozen and closed at the window end.
///   An exit after the window end closes the record at the window end and does not mark it exited.
///
/// Time never runs backwards for a thread: an event stamped before the thread's current `since`
/// (another CPU's clock read a little earlier) changes the state at `since` and adds no time, so
/// every record keeps `times.total == endNs - startNs`. Timestamps before the window start are
/// clamped to it. (The BPF's `enter()` skips negative intervals the same way, but then moves
/// `since` back to the earlier time; the model keeps `since`, which is what keeps the invariant.)
///
/// Events are kept and replayed by `finish`, so the window end may be decided after the events
/// were given, as the real tracer does.
public struct Accountant: Sendable {
    /// CLOCK_MONOTONIC ns at which tracing began.
    public let windowStartNs: UInt64
    /// Whether threads created by a traced thread are traced (the BPF's `follow_threads`).
    public let followThreads: Bool
    /// Every event given so far, in order.
    public private(set) var events: [SchedEvent] = []

    public init(windowStart: UInt64, followThreads: Bool = true) {
        self.windowStartNs = windowStart
        self.followThreads = followThreads
    }

    public init<S: Sequence>(windowStart: UInt64, followThreads: Bool = true, events: S)
    where S.Element == SchedEvent {
        self.init(windowStart: windowStart, followThreads: followThreads)
        apply(events)
    }

    /// Adds one event, after all given so far.
    public mutating func apply(_ event: SchedEvent) {
        events.append(event)
    }

    /// Adds events in order.
    public mutating func apply<S: Sequence>(_ events: S) where S.Element == SchedEvent {
        self.events.append(contentsOf: events)
    }

    /// Every traced thread's record over the window ending at `windowEnd`: threads that exited
    /// (`exited`, `endNs` = exit) and threads alive at the end (`endNs` = `windowEnd`).
    /// A tid that was reused after an exit has one record per life. Sorted by tid, then start.
    public func finish(windowEnd: UInt64) -> [ThreadRecord] {
        let out = kernelOutputs(windowEnd: windowEnd)
        return (out.exits + out.dump).sorted { ($0.tid, $0.startNs) < ($1.tid, $1.startNs) }
    }

    /// What the kernel side would hand user space for this window: the seed iterator's records,
    /// the ring buffer's exit records (including threads exiting after the window end, closed at
    /// the end and not marked exited), and the dump iterator's records of live threads.
    public func kernelOutputs(windowEnd: UInt64) -> KernelOutputs {
        var machine = Machine(windowStart: windowStartNs, windowEnd: max(windowEnd, windowStartNs),
                              followThreads: followThreads)
        for event in events { machine.handle(event) }
        return machine.outputs()
    }
}

/// The three record streams of the kernel side (see `Accountant.kernelOutputs(windowEnd:)`),
/// in the shape `ReportBuilder` takes them.
public struct KernelOutputs: Equatable, Sendable {
    /// One per seeded thread: `startNs == endNs`, zero times, `finalState` = state when seeded.
    public var seeds: [ThreadRecord]
    /// One per thread that exited while traced, in exit order.
    public var exits: [ThreadRecord]
    /// One per thread still traced at the window end, sorted by tid.
    public var dump: [ThreadRecord]

    public init(seeds: [ThreadRecord] = [], exits: [ThreadRecord] = [], dump: [ThreadRecord] = []) {
        self.seeds = seeds
        self.exits = exits
        self.dump = dump
    }
}

extension Accountant {
    /// The kernel's `struct task_acct` plus what `fill_rec` reads from the task.
    fileprivate struct Acct {
        var tid: Int32
        var tgid: Int32
        var comm: String
        var startNs: UInt64
        var since: UInt64
        var state: ThreadState
        var times = StateTimes()
        var switches: UInt64 = 0
        var wakeups: UInt64 = 0
        var seeded: Bool
        var born: Bool
        /// When the kernel queued the thread after its wait began (`sched_info.last_queued`).
        var queuedAt: UInt64?

        /// Close the current interval at `now` (never before `since`) and enter `next`.
        mutating func enter(_ next: ThreadState, at now: UInt64) {
            if now > since {
                times[state] += now - since
                since = now
            }
            state = next
        }

        /// `woken_at`: `now` less the run-queue wait since `queuedAt`, within the open interval.
        func wokenAt(_ now: UInt64) -> UInt64 {
            let queued = queuedAt.map { now > $0 ? now - $0 : 0 } ?? 0
            return now <= since || now - since <= queued ? since : now - queued
        }

        /// `wake_up`: the wait ends at `when`, runnable from then.
        mutating func wakeUp(at when: UInt64) {
            enter(.runnable, at: when)
            wakeups += 1
        }

        /// The record with the open interval closed at `end` (`fill_rec`).
        func record(end: UInt64, exited: Bool) -> ThreadRecord {
            var times = self.times
            let end = max(end, since)
            times[state] += end - since
            return ThreadRecord(tid: tid, tgid: tgid, comm: comm, startNs: startNs, endNs: end,
                                times: times, switches: switches, wakeups: wakeups,
                                seeded: seeded, born: born, exited: exited, finalState: state)
        }
    }

    fileprivate struct Machine {
        let windowStart: UInt64
        let windowEnd: UInt64
        let followThreads: Bool
        var live: [Int32: Acct] = [:]
        var seeds: [ThreadRecord] = []
        var exits: [ThreadRecord] = []

        init(windowStart: UInt64, windowEnd: UInt64, followThreads: Bool) {
            self.windowStart = windowStart
            self.windowEnd = windowEnd
            self.followThreads = followThreads
        }

        mutating func handle(_ event: SchedEvent) {
            let at = event.at
            if case .exit(let tid, _) = event {
                exit(tid: tid, at: at)
                return
            }
            // `event_time()`: from the window end on, records are frozen.
            guard at <= windowEnd else { return }
            let now = max(at, windowStart)
            switch event {
            case .seed(let tid, let tgid, let comm, let state, _):
                guard live[tid] == nil else { return } // already traced
                let acct = Acct(tid: tid, tgid: tgid, comm: comm, startNs: now, since: now,
                                state: state, seeded: true, born: false)
                live[tid] = acct
                seeds.append(acct.record(end: now, exited: false))
            case .fork(let parentTid, let childTid, _):
                guard followThreads, let parent = live[parentTid] else { return }
                // A fresh task cannot already have storage; a tid still traced here means the
                // event sequence lost that thread's exit, so keep its record rather than clobber it.
                guard live[childTid] == nil else { return }
                live[childTid] = Acct(tid: childTid, tgid: parent.tgid, comm: parent.comm,
                                      startNs: now, since: now, state: .runnable,
                                      seeded: false, born: true)
            case .switchOut(let tid, _, let preempt, let taskState, let inFutexWait):
                guard var acct = live[tid] else { return }
                acct.enter(.afterSwitchOut(preempt: preempt, taskState: taskState,
                                           inFutexWait: inFutexWait), at: now)
                acct.switches += 1
                acct.queuedAt = nil
                live[tid] = acct
            case .switchIn(let tid, _):
                guard var acct = live[tid] else { return }
                if acct.state.isWakeable { acct.wakeUp(at: acct.wokenAt(now)) }
                acct.enter(.onCPU, at: now)
                acct.queuedAt = nil
                live[tid] = acct
            case .wakeup(let tid, _):
                guard var acct = live[tid], acct.state.isWakeable, acct.queuedAt == nil else { return }
                acct.queuedAt = now
                live[tid] = acct
            case .exit:
                break // handled above
            }
        }

        /// `on_exit`: inside the window the record ends at the exit and is marked exited; after
        /// the window end it is closed at the end, unmarked. Either way the tid stops being traced.
        mutating func exit(tid: Int32, at: UInt64) {
            guard let acct = live.removeValue(forKey: tid) else { return }
            if at <= windowEnd {
                exits.append(acct.record(end: max(at, windowStart), exited: true))
            } else {
                exits.append(acct.record(end: windowEnd, exited: false))
            }
        }

        /// The dump at the window end: a wait woken before the end and still queued is runnable
        /// from its wakeup (read after the end, so any later instant gives the same answer).
        func outputs() -> KernelOutputs {
            let dump = live.values.sorted { $0.tid < $1.tid }.map { live -> ThreadRecord in
                var acct = live
                if acct.state.isWakeable, acct.queuedAt != nil {
                    let woken = acct.wokenAt(windowEnd + 1)
                    if woken < windowEnd { acct.wakeUp(at: woken) }
                }
                return acct.record(end: windowEnd, exited: false)
            }
            return KernelOutputs(seeds: seeds, exits: exits, dump: dump)
        }
    }
}

extension ReportBuilder {
    /// Takes the three record streams from `outputs` (e.g. `Accountant.kernelOutputs`).
    public init(windowStartNs: UInt64, windowEndNs: UInt64, targetPids: [Int32] = [],
                outputs: KernelOutputs, processNames: [Int32: String] = [:],
                exitedPids: Set<Int32> = [], lost: LostCounts = LostCounts()) {
        self.init(windowStartNs: windowStartNs, windowEndNs: windowEndNs, targetPids: targetPids,
                  seeds: outputs.seeds, exits: outputs.exits, dump: outputs.dump,
                  processNames: processNames, exitedPids: exitedPids, lost: lost)
    }
}
