import Testing
@testable import SwoffcpuCore
import SwoffcpuTestSupport

// Window used throughout unless a test says otherwise: 1_000 ... 2_000 ns.
private let start: UInt64 = 1_000
private let end: UInt64 = 2_000

private func run(_ events: [SchedEvent], windowStart: UInt64 = start, windowEnd: UInt64 = end,
                 followThreads: Bool = true) -> [ThreadRecord] {
    Accountant(windowStart: windowStart, followThreads: followThreads, events: events)
        .finish(windowEnd: windowEnd)
}

private func record(_ records: [ThreadRecord], tid: Int32) -> ThreadRecord? {
    records.first { $0.tid == tid }
}

/// The invariant every record must keep.
private func expectSound(_ records: [ThreadRecord], sourceLocation: SourceLocation = #_sourceLocation) {
    for r in records {
        #expect(r.startNs <= r.endNs, "tid \(r.tid)", sourceLocation: sourceLocation)
        #expect(r.times.total == r.endNs - r.startNs, "tid \(r.tid): \(r.times)", sourceLocation: sourceLocation)
    }
}

private func seed(_ tid: Int32, _ state: ThreadState, at: UInt64 = start, tgid: Int32 = 100,
                  comm: String = "main") -> SchedEvent {
    .seed(tid: tid, tgid: tgid, comm: comm, state: state, at: at)
}

private func out(_ tid: Int32, at: UInt64, preempt: Bool = false, state: UInt32 = KernelTaskState.interruptible,
                 futex: Bool = false) -> SchedEvent {
    .switchOut(tid: tid, at: at, preempt: preempt, taskState: state, inFutexWait: futex)
}

@Suite("Accountant: transitions")
struct AccountantTransitionTests {
    /// Checks that a seeded thread with no events spends the whole window in its seeded state.
    @Test(arguments: ThreadState.allCases)
    func seededStateFillsWindow(state: ThreadState) throws {
        let records = run([seed(1, state)])
        let r = try #require(record(records, tid: 1))
        #expect(r.times[state] == 1_000)
        #expect(r.times.total == 1_000)
        #expect(r.seeded && !r.born && !r.exited)
        #expect(r.finalState == state)
        #expect(r.startNs == start && r.endNs == end)
    }

    /// Checks that switch-out picks the state exactly as the BPF does: preempt or TASK_RUNNING ->
    /// runnable, TASK_UNINTERRUPTIBLE -> sleep D (even in a futex wait), futex wait -> blocked,
    /// anything else -> sleep.
    @Test(arguments: [
        SwitchOutCase(true, KernelTaskState.interruptible, false, .runnable),
        SwitchOutCase(true, KernelTaskState.uninterruptible, true, .runnable),
        SwitchOutCase(false, KernelTaskState.running, false, .runnable),
        SwitchOutCase(false, KernelTaskState.running, true, .runnable),
        SwitchOutCase(false, KernelTaskState.interruptible, false, .sleep),
        SwitchOutCase(false, KernelTaskState.interruptible, true, .blocked),
        SwitchOutCase(false, KernelTaskState.uninterruptible, false, .sleepUninterruptible),
        SwitchOutCase(false, KernelTaskState.uninterruptible, true, .sleepUninterruptible),
        SwitchOutCase(false, KernelTaskState.idle, false, .sleepUninterruptible),
        SwitchOutCase(false, 0x100, false, .sleep), // TASK_WAKEKILL alone: not D
    ])
    func switchOutState(_ c: SwitchOutCase) throws {
        let (preempt, taskState, futex, expected) = (c.preempt, c.taskState, c.futex, c.expected)
        #expect(ThreadState.afterSwitchOut(preempt: preempt, taskState: taskState, inFutexWait: futex) == expected)
        let records = run([seed(1, .onCPU), out(1, at: 1_300, preempt: preempt, state: taskState, futex: futex)])
        let r = try #require(record(records, tid: 1))
        #expect(r.times.onCPU == 300)
        #expect(r.times[expected] == 700)
        #expect(r.switches == 1)
        #expect(r.wakeups == 0)
        #expect(r.finalState == expected)
        expectSound(records)
    }

    /// Checks that switch-in moves a runnable thread on-CPU.
    @Test func switchInFromRunnable() throws {
        let r = try #require(run([seed(1, .runnable), .switchIn(tid: 1, at: 1_250)]).first)
        #expect(r.times == StateTimes(onCPU: 750, runnable: 250))
        #expect(r.finalState == .onCPU)
        #expect(r.switches == 0)
    }

    /// Checks that a wakeup from sleep, sleep D or blocked makes the thread runnable and counts.
    @Test(arguments: [ThreadState.sleep, .sleepUninterruptible, .blocked])
    func wakeupFromWait(state: ThreadState) throws {
        let r = try #require(run([seed(1, state), .wakeup(tid: 1, at: 1_400)]).first)
        #expect(r.times[state] == 400)
        #expect(r.times.runnable == 600)
        #expect(r.wakeups == 1)
        #expect(r.finalState == .runnable)
    }

    /// Checks that the wakeup is timed at switch-in from when the kernel queued the thread: a
    /// second queueing (already queued) does not move it, and a switch-in with no queueing seen
    /// (woken straight onto its CPU) ends the wait there, runnable for no time, still a wakeup.
    @Test func wakeupTimedAtSwitchInFromQueueing() throws {
        let r = try #require(run([
            seed(1, .blocked),
            .wakeup(tid: 1, at: 1_200), .wakeup(tid: 1, at: 1_250), // queued once, at 1200
            .switchIn(tid: 1, at: 1_300),
            out(1, at: 1_400),                                      // sleep
            .switchIn(tid: 1, at: 1_600),                           // no queueing seen
        ]).first)
        #expect(r.times == StateTimes(onCPU: 100 + 400, runnable: 100, sleepInterruptible: 200, blocked: 200))
        #expect(r.wakeups == 2 && r.switches == 1)
    }

    /// Checks that a wakeup of a running or already runnable thread changes nothing and is not counted.
    @Test(arguments: [ThreadState.onCPU, .runnable])
    func wakeupIgnoredWhenNotWaiting(state: ThreadState) throws {
        let r = try #require(run([seed(1, state), .wakeup(tid: 1, at: 1_400)]).first)
        #expect(r.times[state] == 1_000)
        #expect(r.wakeups == 0)
        #expect(r.finalState == state)
    }

    /// Checks a full cycle: run, sleep, wakeup, run, preempted, run again; times and counters.
    @Test func fullCycle() throws {
        let records = run([
            seed(1, .onCPU),
            out(1, at: 1_100),                      // sleep
            .wakeup(tid: 1, at: 1_300),             // runnable
            .switchIn(tid: 1, at: 1_350),           // on-CPU
            out(1, at: 1_500, preempt: true),       // runnable
            .switchIn(tid: 1, at: 1_600),           // on-CPU
            out(1, at: 1_700, futex: true),         // blocked
            .wakeup(tid: 1, at: 1_800),             // runnable
            .switchIn(tid: 1, at: 1_810),
            out(1, at: 1_900, state: KernelTaskState.uninterruptible), // D till the end
        ])
        let r = try #require(records.first)
        #expect(r.times == StateTimes(onCPU: 100 + 150 + 100 + 90, runnable: 50 + 100 + 10,
                                      sleepInterruptible: 200, sleepUninterruptible: 100, blocked: 100))
        #expect(r.switches == 4)
        #expect(r.wakeups == 2)
        #expect(r.finalState == .sleepUninterruptible)
        expectSound(records)
    }
}

@Suite("Accountant: window, birth, death")
struct AccountantWindowTests {
    /// Checks that a seeded thread's state counts only from the window start: a seed stamped before
    /// the start is clipped to it, and so is an event stamped before it.
    @Test func clipsAtWindowStart() throws {
        let records = run([
            seed(1, .sleep, at: 900),
            seed(2, .blocked, at: 1_000),
            .wakeup(tid: 2, at: 950),     // before the window: counts from the start, adds nothing
            .switchIn(tid: 2, at: 1_005),
        ])
        let a = try #require(record(records, tid: 1))
        #expect(a.startNs == start)
        #expect(a.times.sleepInterruptible == 1_000)
        let b = try #require(record(records, tid: 2))
        #expect(b.times == StateTimes(onCPU: 995, runnable: 5))
        #expect(b.wakeups == 1)
        expectSound(records)
    }

    /// Checks that a seeded sleeping thread counts only the part of its sleep inside the window.
    @Test func seededSleepCountsFromSeed() throws {
        let r = try #require(run([seed(1, .sleep, at: 1_010), .wakeup(tid: 1, at: 1_015)]).first)
        #expect(r.startNs == 1_010)
        #expect(r.times.sleepInterruptible == 5)
        #expect(r.times.runnable == 985)
    }

    /// Checks that the open interval is closed at the window end and events after it are ignored.
    @Test func clipsAtWindowEnd() throws {
        let records = run([
            seed(1, .onCPU),
            out(1, at: 1_800),
            .wakeup(tid: 1, at: 2_100),     // after the end: ignored
            .switchIn(tid: 1, at: 2_200),   // ignored
        ])
        let r = try #require(records.first)
        #expect(r.endNs == end)
        #expect(r.times == StateTimes(onCPU: 800, sleepInterruptible: 200))
        #expect(r.wakeups == 0)
        #expect(r.finalState == .sleep)
        #expect(!r.exited)
    }

    /// Checks that a thread born and dying inside the window is traced from its fork (runnable,
    /// born, parent's tgid and comm) to its exit (exited, end = exit time).
    @Test func birthAndDeathInsideWindow() throws {
        let records = run([
            seed(1, .onCPU, tgid: 100, comm: "server"),
            .fork(parentTid: 1, childTid: 2, at: 1_200),
            .switchIn(tid: 2, at: 1_260),
            out(2, at: 1_400, state: KernelTaskState.interruptible, futex: true),
            .wakeup(tid: 2, at: 1_500),
            .switchIn(tid: 2, at: 1_520),
            .exit(tid: 2, at: 1_700),
            out(2, at: 1_701, state: KernelTaskState.dead), // the dead task's last switch: untraced
        ])
        let child = try #require(record(records, tid: 2))
        #expect(child.tgid == 100 && child.comm == "server")
        #expect(child.born && !child.seeded && child.exited)
        #expect(child.startNs == 1_200 && child.endNs == 1_700)
        #expect(child.times == StateTimes(onCPU: 140 + 180, runnable: 60 + 20, blocked: 100))
        #expect(child.switches == 1)
        let parent = try #require(record(records, tid: 1))
        #expect(parent.times.onCPU == 1_000)
        expectSound(records)
    }

    /// Checks that an exit after the window end neither marks the thread exited nor moves its
    /// end: the record is closed at the window end, and sent as an exit record like the BPF does.
    @Test func exitAfterWindowEnd() throws {
        let acct = Accountant(windowStart: start, events: [
            seed(1, .onCPU), out(1, at: 1_500), .exit(tid: 1, at: 2_300),
        ])
        let r = try #require(acct.finish(windowEnd: end).first)
        #expect(!r.exited)
        #expect(r.endNs == end)
        #expect(r.times == StateTimes(onCPU: 500, sleepInterruptible: 500))
        let outputs = acct.kernelOutputs(windowEnd: end)
        #expect(outputs.exits == [r])
        #expect(outputs.dump.isEmpty)
    }

    /// Checks that the window end may be chosen after the events were given: the same events
    /// give a shorter record for an earlier end.
    @Test func windowEndChosenLater() throws {
        let acct = Accountant(windowStart: start, events: [seed(1, .onCPU), out(1, at: 1_500), .exit(tid: 1, at: 1_900)])
        let early = try #require(acct.finish(windowEnd: 1_200).first)
        #expect(early.times == StateTimes(onCPU: 200) && !early.exited)
        let late = try #require(acct.finish(windowEnd: 2_000).first)
        #expect(late.times == StateTimes(onCPU: 500, sleepInterruptible: 400) && late.exited)
    }

    /// Checks that a fork after the window end does not trace the child.
    @Test func forkAfterWindowEnd() {
        let records = run([seed(1, .onCPU), .fork(parentTid: 1, childTid: 2, at: 2_001)])
        #expect(records.map(\.tid) == [1])
    }

    /// Checks that a tid reused after its thread exited gives a second, separate record.
    @Test func tidReuse() {
        let records = run([
            seed(1, .onCPU),
            .fork(parentTid: 1, childTid: 2, at: 1_100),
            .exit(tid: 2, at: 1_200),
            .fork(parentTid: 1, childTid: 2, at: 1_500),
        ])
        let lives = records.filter { $0.tid == 2 }
        #expect(lives.map(\.startNs) == [1_100, 1_500])
        #expect(lives.map(\.exited) == [true, false])
        expectSound(records)
    }

    /// Checks that the seed output has one zero-length record per seeded thread with its state,
    /// and that a second seeding of an already traced thread is ignored.
    @Test func seedOutputs() {
        let outputs = Accountant(windowStart: start, events: [
            seed(1, .blocked), seed(2, .runnable, at: 1_003), seed(1, .onCPU, at: 1_004),
        ]).kernelOutputs(windowEnd: end)
        #expect(outputs.seeds.map(\.tid) == [1, 2])
        #expect(outputs.seeds.map(\.finalState) == [.blocked, .runnable])
        #expect(outputs.seeds.allSatisfy { $0.times.total == 0 && $0.startNs == $0.endNs && $0.seeded })
        #expect(outputs.dump.first { $0.tid == 1 }?.times.blocked == 1_000)
    }
}

@Suite("Accountant: concurrency and robustness")
struct AccountantRobustnessTests {
    /// Checks events from two CPUs interleaved: A blocks on CPU0, B runs there and wakes A from
    /// CPU1's point of view; A is switched in on CPU1 while B keeps CPU0.
    @Test func twoCPUsInterleaved() throws {
        let records = run([
            seed(1, .onCPU), seed(2, .runnable),
            out(1, at: 1_100, futex: true),  // CPU0: A blocks
            .switchIn(tid: 2, at: 1_100),      // CPU0: B runs
            .wakeup(tid: 1, at: 1_250),        // CPU1: A woken (by B's unlock)
            .switchIn(tid: 1, at: 1_260),      // CPU1: A runs
            out(2, at: 1_300, preempt: true),  // CPU0: B preempted
            .switchIn(tid: 2, at: 1_400),      // CPU0: B back
        ])
        let a = try #require(record(records, tid: 1))
        #expect(a.times == StateTimes(onCPU: 100 + 740, runnable: 10, blocked: 150))
        #expect(a.wakeups == 1 && a.switches == 1)
        let b = try #require(record(records, tid: 2))
        #expect(b.times == StateTimes(onCPU: 200 + 600, runnable: 100 + 100))
        expectSound(records)
    }

    /// Checks that an event stamped before the thread's current `since` (read a little earlier on
    /// another CPU) changes the state without adding negative or wrapped-around time.
    @Test func outOfOrderTimestampsDoNotGoNegative() throws {
        let records = run([
            seed(1, .sleep),
            .wakeup(tid: 1, at: 1_200),
            .switchIn(tid: 1, at: 1_190),     // stamped before the wakeup
            out(1, at: 1_180),                // and again earlier
            .wakeup(tid: 1, at: 1_150),
            .switchIn(tid: 1, at: 1_300),
        ])
        let r = try #require(records.first)
        // Switched in at 1190, before the queueing at 1200 (0 queued: woken at 1190); the second
        // wait began at 1190 (`since` stays) and was queued at 1150: runnable all of it.
        #expect(r.times == StateTimes(onCPU: 700, runnable: 110, sleepInterruptible: 190))
        #expect(r.times.total == 1_000)
        expectSound(records)
    }

    /// Checks that an exit stamped before the thread's `since` ends the record at `since`, keeping
    /// the sum equal to the thread's window.
    @Test func exitStampedEarly() throws {
        let r = try #require(run([seed(1, .onCPU), out(1, at: 1_500), .exit(tid: 1, at: 1_400)]).first)
        #expect(r.exited && r.endNs == 1_500)
        #expect(r.times == StateTimes(onCPU: 500))
    }

    /// Checks that events of threads never seeded or born from a traced thread are ignored, as are
    /// children when threads are not followed.
    @Test func untracedThreadsIgnored() {
        let records = run([
            seed(1, .onCPU),
            out(99, at: 1_100), .wakeup(tid: 99, at: 1_200), .switchIn(tid: 99, at: 1_300), .exit(tid: 99, at: 1_400),
            .fork(parentTid: 99, childTid: 98, at: 1_500),   // untraced parent
            .switchIn(tid: 98, at: 1_600),
        ])
        #expect(records.map(\.tid) == [1])
        let unfollowed = run([seed(1, .onCPU), .fork(parentTid: 1, childTid: 2, at: 1_100)], followThreads: false)
        #expect(unfollowed.map(\.tid) == [1])
    }

    /// Checks the invariant on many random interleavings with jittered, out-of-order timestamps,
    /// thread births, exits and events outside the window.
    @Test func randomInterleavingsKeepInvariant() {
        var rng = SplitMix64(seed: 0x5eed)
        for _ in 0..<300 {
            var events: [SchedEvent] = [seed(1, .onCPU), seed(2, .sleep), seed(3, .runnable)]
            var nextTid: Int32 = 4
            var clock: UInt64 = 950
            for _ in 0..<60 {
                clock += rng.next() % 30
                let jitter = rng.next() % 40
                let at = clock > jitter ? clock - jitter : 0 // some stamps before earlier ones
                let tid = Int32(rng.next() % UInt64(nextTid - 1)) + 1
                switch rng.next() % 7 {
                case 0: events.append(.switchIn(tid: tid, at: at))
                case 1: events.append(out(tid, at: at, preempt: rng.next() % 2 == 0,
                                          state: UInt32(rng.next() % 4), futex: rng.next() % 2 == 0))
                case 2, 3: events.append(.wakeup(tid: tid, at: at))
                case 4: events.append(.fork(parentTid: tid, childTid: nextTid, at: at)); nextTid += 1
                case 5: if rng.next() % 4 == 0 { events.append(.exit(tid: tid, at: at)) }
                default: events.append(.switchIn(tid: tid, at: at))
                }
            }
            let windowEnd = 1_000 + rng.next() % 1_500
            let acct = Accountant(windowStart: start, events: events)
            let records = acct.finish(windowEnd: windowEnd)
            for r in records {
                #expect(r.startNs >= start && r.endNs <= max(windowEnd, start) && r.startNs <= r.endNs)
                #expect(r.times.total == r.endNs - r.startNs)
                #expect(r.exited || r.endNs == max(windowEnd, start))
            }
            let report = ReportBuilder(windowStartNs: start, windowEndNs: windowEnd,
                                       outputs: acct.kernelOutputs(windowEnd: windowEnd)).build()
            #expect(ReportBuilder.validate(report).isEmpty)
        }
    }
}

struct SwitchOutCase: Sendable, CustomTestStringConvertible {
    let preempt: Bool
    let taskState: UInt32
    let futex: Bool
    let expected: ThreadState
    init(_ preempt: Bool, _ taskState: UInt32, _ futex: Bool, _ expected: ThreadState) {
        (self.preempt, self.taskState, self.futex, self.expected) = (preempt, taskState, futex, expected)
    }
    var testDescription: String {
        "preempt=\(preempt) state=0x\(String(taskState, radix: 16)) futex=\(futex) -> \(expected.name)"
    }
}

/// A small deterministic generator, so the random test is reproducible.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
