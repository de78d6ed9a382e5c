import Testing
@testable import SwoffcpuResolve
import SwoffcpuCore
import SwoffcpuTestSupport

/// Synthetic stacks: ids 100+ of process 1, resolved through these tables.
private let userStacks: [UInt64: [String]] = [
    100: ["__lll_lock_wait", "pthread_mutex_lock", "worker", "start_thread", "clone3"],
    101: ["__lll_lock_wake", "__pthread_mutex_unlock_usercnt", "hold_section", "worker", "start_thread"],
    102: ["__lll_lock_wake", "__pthread_mutex_unlock_usercnt", "other_section", "worker", "start_thread"],
    110: ["__futex_abstimed_wait_common", "__pthread_cond_wait_common", "pthread_cond_wait@@GLIBC_2.3.2", "consumer"],
    111: ["pthread_cond_signal", "producer", "start_thread"],
    120: ["__futex_abstimed_wait_common", "__new_sem_wait_slow64.constprop.0", "sem_waiter"],
    121: ["sem_post", "sem_poster"],
    130: ["__futex_abstimed_wait_common", "start_thread", "clone3"],   // glibc frames lost
    131: ["__futex_abstimed_wait_common", "__new_sem_wait_slow64.constprop.0", "sem_waiter"],  // another wait's leaf
    140: ["syscall", "my_spin_lock", "main"],
    150: ["__futex_lock_pi64", "__pthread_mutex_lock_full", "pi_worker"],
    160: ["__futex_abstimed_wait_common", "___pthread_rwlock_rdlock", "reader"],
    161: ["pthread_rwlock_unlock", "writer"],
]

private var symbols: LockReport.Symbols { LockReport.Symbols(
    userFrames: { tgid, id in
        if id == StackData.Marker.beforeTrace.rawValue { return ["[user stack: waiting since before the trace]"] }
        return tgid == 1 ? userStacks[id] ?? ["[lost]"] : []
    },
    kernelFrames: { id in
        switch id {
        case 900: ["__schedule", "schedule", "futex_wait"]
        case 901: ["try_to_wake_up", "hrtimer_wakeup"]
        // A timer interrupt that hit a thread in a read(2), and one that hit a thread in user space.
        case 902: ["try_to_wake_up", "hrtimer_wakeup", "hrtimer_interrupt", "asm_sysvec_apic_timer_interrupt",
                   "ksys_read", "do_syscall_64"]
        case 903: ["try_to_wake_up", "hrtimer_wakeup", "hrtimer_interrupt", "asm_sysvec_apic_timer_interrupt"]
        default: []
        }
    },
    lockName: { _, uaddr in uaddr == 0x1000 ? "g_hot" : uaddr == 0x2000 ? "g_cold" : nil }) }

private func wait(_ tid: Int32, _ uaddr: UInt64, _ ns: UInt64, waits: UInt64 = 1, max: UInt64? = nil,
                  op: LockData.Op = .wait) -> LockData.Wait {
    LockData.Wait(tgid: 1, tid: tid, uaddr: uaddr, op: op, waitNs: ns, waits: waits, maxWaitNs: max ?? ns)
}

private func waker(_ waiter: Int32, _ uaddr: UInt64, waiterStack: UInt64, waker: Int32, wakerStack: UInt64,
                   ns: UInt64, wakeups: UInt64 = 1, wakerKernel: UInt64 = 0) -> LockData.Waker {
    LockData.Waker(tgid: 1, waiterTid: waiter, uaddr: uaddr, waiterUserStack: waiterStack, waiterKernelStack: 900,
                   wakerTid: waker, wakerTgid: 1, wakerUserStack: wakerStack, wakerKernelStack: wakerKernel,
                   weightedNs: ns, wakeups: wakeups)
}

private func report(names: [Int32: String] = [:]) -> TraceReport {
    let threads = names.sorted { $0.key < $1.key }.map {
        ThreadRecord(tid: $0.key, tgid: 1, comm: $0.value, startNs: 0, endNs: 100, times: StateTimes(onCPU: 100),
                     seeded: true)
    }
    return TraceReport(windowStartNs: 0, windowEndNs: 100, processes: [ProcessReport(pid: 1, comm: "app", exited: false, threads: threads)],
                       lost: LostCounts())
}

@Suite("LockReport")
struct LockReportTests {
    /// Checks the per-lock sums over waiters and ops: total, count, longest, distinct waiters
    /// (sorted by their wait), average; and the two locks ordered by total wait.
    @Test func aggregatesPerLockAndSortsByTotalWait() {
        let data = LockData(waits: [
            wait(11, 0x2000, 300, waits: 3, max: 200),
            wait(12, 0x1000, 5_000, waits: 10, max: 900),
            wait(13, 0x1000, 7_000, waits: 14, max: 1_200),
            wait(12, 0x1000, 1_000, waits: 1, max: 1_000, op: .waitBitset),
        ])
        let r = LockReport(data, report: report(names: [12: "hot0", 13: "hot1"]), symbols: symbols)
        #expect(r.contended.map(\.name) == ["g_hot", "g_cold"])
        let hot = r.contended[0]
        #expect(hot.waitNs == 13_000 && hot.waits == 25 && hot.maxWaitNs == 1_200 && hot.averageNs == 520)
        #expect(hot.waiters.map(\.tid) == [13, 12])
        #expect(hot.waiters.map(\.ns) == [7_000, 6_000])
        #expect(hot.waiters.map(\.label) == ["hot1-13", "hot0-12"])
        #expect(hot.ops == [.wait, .waitBitset] && hot.op == .wait)
        #expect(hot.comm == "app" && hot.uaddr == 0x1000)
        // No wakeup recorded: no stack, and the kind cannot be told.
        #expect(hot.kind == .unknown && hot.waiterStacks.isEmpty && hot.sampledNs == 0)
        #expect(r.contended[1].waiters.map(\.label) == ["tid 11"])
    }

    /// Checks that an unnamed lock prints as its address, and that equal totals order by address.
    @Test func unnamedLocksAndTies() {
        let data = LockData(waits: [wait(1, 0x3000, 50), wait(2, 0x2fff, 50)])
        let r = LockReport(data, symbols: symbols)
        #expect(r.contended.map(\.name) == ["0x2fff", "0x3000"])
        #expect(!r.contended[0].isNamedBySymbol)
    }

    /// Checks waiter and releaser stacks and threads: merged by frames, weighted by the wait the
    /// wakeups ended, most first; the kind from the frames (mutex).
    @Test func releasersWeightedByTheWaitTheyEnded() {
        let data = LockData(waits: [wait(12, 0x1000, 10_000, waits: 4), wait(13, 0x1000, 10_000, waits: 4)],
                            wakers: [
                                waker(12, 0x1000, waiterStack: 100, waker: 13, wakerStack: 101, ns: 6_000, wakeups: 2),
                                waker(13, 0x1000, waiterStack: 100, waker: 12, wakerStack: 101, ns: 3_000, wakeups: 1),
                                waker(13, 0x1000, waiterStack: 100, waker: 14, wakerStack: 102, ns: 1_000, wakeups: 1),
                            ])
        let r = LockReport(data, report: report(names: [12: "a", 13: "b", 14: "c"]), symbols: symbols)
        let lock = r.contended[0]
        #expect(lock.kind == .mutex)
        #expect(lock.sampledNs == 10_000)
        #expect(lock.waiterStacks.count == 1 && lock.waiterStacks[0].weightedNs == 10_000 && lock.waiterStacks[0].wakeups == 4)
        #expect(lock.waiterStacks[0].kernelFrames == ["__schedule", "schedule", "futex_wait"])
        #expect(lock.releaserStacks.map(\.weightedNs) == [9_000, 1_000])
        #expect(lock.releaserStacks[0].userFrames[2] == "hold_section")
        #expect(lock.releasers.map(\.label) == ["b-13", "a-12", "c-14"])
        #expect(lock.releasers.map(\.ns) == [6_000, 3_000, 1_000])
        #expect(lock.releasers.map(\.count) == [2, 1, 1])
        #expect(lock.wakeups.count == 3)
    }

    /// Checks the idle split: condition variables and semaphores go to `idle`, mutexes stay in
    /// `contended`, each list sorted by total wait; `all` merges them in order.
    @Test func idleWaitsAreKeptApart() {
        let data = LockData(waits: [
            wait(20, 0x5000, 90_000), wait(21, 0x6000, 80_000), wait(12, 0x1000, 1_000),
        ], wakers: [
            waker(20, 0x5000, waiterStack: 110, waker: 22, wakerStack: 111, ns: 90_000),
            waker(21, 0x6000, waiterStack: 120, waker: 23, wakerStack: 121, ns: 80_000),
            waker(12, 0x1000, waiterStack: 100, waker: 13, wakerStack: 101, ns: 1_000),
        ])
        let r = LockReport(data, symbols: symbols)
        #expect(r.contended.map(\.uaddr) == [0x1000])
        #expect(r.idle.map(\.uaddr) == [0x5000, 0x6000])
        #expect(r.idle.map(\.kind) == [.condvar, .semaphore])
        #expect(r.idle.allSatisfy { $0.isIdle })
        #expect(r.all.map(\.uaddr) == [0x5000, 0x6000, 0x1000])
    }

    /// Checks that the op decides for PI futexes, whatever the frames.
    @Test func piOpsDecide() {
        let data = LockData(waits: [wait(30, 0x7000, 500, op: .lockPI), wait(31, 0x8000, 400, op: .waitRequeuePI),
                                    wait(32, 0x9000, 300, op: .lockPI2)],
                            wakers: [waker(30, 0x7000, waiterStack: 110, waker: 31, wakerStack: 111, ns: 500)])
        let r = LockReport(data, symbols: symbols)
        #expect(r.contended.map(\.kind) == [.mutexPI, .mutexPI])
        #expect(r.idle.map(\.kind) == [.condvarPI])
    }

    /// Checks the lock-level vote: a wakeup whose waiter frames are another wait's (stack ids
    /// shared) is outvoted by the exact leaves; unknown and other only when nothing else says.
    @Test func exactLeavesDecide() {
        // The waiter's recovered frames say semaphore (another wait's leaf context), but the
        // waker's leaf is pthread_cond_signal: condvar.
        let data = LockData(waits: [wait(20, 0x5000, 1_000)],
                            wakers: [waker(20, 0x5000, waiterStack: 131, waker: 22, wakerStack: 111, ns: 1_000)])
        #expect(LockReport(data, symbols: symbols).idle.map(\.kind) == [.condvar])
        // A timer ended the wait: the waker says nothing, the waiter's frames decide.
        let timed = LockData(waits: [wait(21, 0x6000, 1_000)],
                             wakers: [waker(21, 0x6000, waiterStack: 120, waker: 99, wakerStack: 102, ns: 1_000,
                                            wakerKernel: 901)])
        let r = LockReport(timed, symbols: symbols)
        #expect(r.idle.map(\.kind) == [.semaphore])
        #expect(r.idle[0].releasers.map(\.label) == ["[timeout]"])
    }

    /// Releaser shares and releaser stacks agree (issue 15: `releasers [timeout] 100.0%` above a
    /// `released` stack of whatever thread the timer interrupt hit): a timer's wakeups are the
    /// timer's, one stack of the timer's path whatever the interrupt hit, with the same weight as
    /// the `[timeout]` releaser; a real release keeps its thread's stacks.
    @Test func timerReleasesAreTheTimers() {
        var other = waker(31, 0x7000, waiterStack: 110, waker: 77, wakerStack: 102, ns: 300, wakerKernel: 902)
        other.wakerTgid = 5  // another process's thread, interrupted
        let data = LockData(waits: [wait(31, 0x7000, 1_000, waits: 4)], wakers: [
            waker(31, 0x7000, waiterStack: 110, waker: 32, wakerStack: 101, ns: 300, wakerKernel: 903),
            other,
            waker(31, 0x7000, waiterStack: 110, waker: 33, wakerStack: 111, ns: 100),
        ])
        let lock = LockReport(data, report: report(names: [31: "consumer", 32: "worker", 33: "producer"]),
                              symbols: symbols).all[0]
        #expect(lock.releasers.map(\.label) == ["[timeout]", "producer-33"])
        #expect(lock.releasers.map(\.ns) == [600, 100])
        #expect(lock.releaserStacks.count == 2)
        let timer = lock.releaserStacks[0]
        #expect(timer.userFrames.isEmpty && timer.weightedNs == 600 && timer.wakeups == 2)
        #expect(timer.kernelFrames == ["try_to_wake_up", "hrtimer_wakeup", "hrtimer_interrupt", "asm_sysvec_apic_timer_interrupt"])
        #expect(lock.releaserStacks[1].userFrames == userStacks[111] && lock.releaserStacks[1].weightedNs == 100)
        // Every releaser stack belongs to a listed releaser with at least its weight.
        for w in lock.wakeups {
            #expect(lock.releasers.contains { $0.tid == w.waker.tid && $0.ns >= w.weightedNs })
        }
        #expect(lock.wakeups.filter { $0.waker.comm == "[timeout]" }.allSatisfy { $0.wakerUserFrames.isEmpty })
    }

    /// One wait, one stack: the kernel stack of a wait in progress when the trace started (the
    /// seed iterator's bpf_get_task_stack starts at the scheduler's caller) gets the scheduler's
    /// entry back, so it is the stack the same wait has when walked at a switch-out.
    @Test func seededKernelStacksStartAtTheScheduler() {
        let walked = ["__schedule", "schedule", "futex_do_wait", "__futex_wait", "futex_wait"]
        #expect(StackResolver.withSchedulerEntry(Array(walked.dropFirst(2))) == walked)
        #expect(StackResolver.withSchedulerEntry(walked) == walked)
        #expect(StackResolver.withSchedulerEntry(Array(walked.dropFirst())) == walked)
        #expect(StackResolver.withSchedulerEntry(["rt_mutex_schedule", "rt_mutex_slowlock_block"])
                == ["__schedule", "rt_mutex_schedule", "rt_mutex_slowlock_block"])
        #expect(StackResolver.withSchedulerEntry(["[lost: stack map full]"]) == ["[lost: stack map full]"])
        #expect(StackResolver.withSchedulerEntry([]) == [])
    }

    /// Checks the kind rules one by one (docs/locks.md).
    @Test func kindRules() {
        typealias C = LockClassifier
        #expect(C.kind(op: .wait, userFrames: userStacks[100]!) == .mutex)
        #expect(C.kind(op: .wait, userFrames: ["__lll_lock_wait_private", "_IO_flockfile", "app"]) == .mutex)
        #expect(C.kind(op: .wait, userFrames: ["__lll_lock_wait", "__pthread_mutex_cond_lock", "pthread_cond_wait", "c"]) == .mutex)
        #expect(C.kind(op: .waitBitset, userFrames: ["x", "pthread_mutex_clocklock", "c"]) == .mutex)
        #expect(C.kind(op: .waitBitset, userFrames: userStacks[160]!) == .rwlock)
        #expect(C.kind(op: .waitBitset, userFrames: ["__futex_abstimed_wait_common", "__pthread_rwlock_wrlock_full64", "w"]) == .rwlock)
        #expect(C.kind(op: .waitBitset, userFrames: userStacks[110]!) == .condvar)
        #expect(C.kind(op: .waitBitset, userFrames: ["__futex_abstimed_wait_common", "___pthread_cond_clockwait64", "w"]) == .condvar)
        #expect(C.kind(op: .waitBitset, userFrames: userStacks[120]!) == .semaphore)
        #expect(C.kind(op: .waitBitset, userFrames: ["do_futex_wait.constprop.0", "__new_sem_wait_slow64", "m"]) == .semaphore)
        #expect(C.kind(op: .waitBitset, userFrames: ["sem_clockwait", "m"]) == .semaphore)
        #expect(C.kind(op: .wait, userFrames: ["pthread_barrier_wait", "w"]) == .barrier)
        #expect(C.kind(op: .waitBitset, userFrames: ["__futex_abstimed_wait_common", "__pthread_clockjoin_ex", "main"]) == .join)
        #expect(C.kind(op: .waitBitset, userFrames: ["pthread_join@@GLIBC_2.34", "main"]) == .join)
        #expect(C.kind(op: .lockPI, userFrames: userStacks[100]!) == .mutexPI)
        #expect(C.kind(op: .lockPI2, userFrames: []) == .mutexPI)
        #expect(C.kind(op: .waitRequeuePI, userFrames: userStacks[100]!) == .condvarPI)
        // Other runtimes.
        #expect(C.kind(op: .wait, userFrames: ["syscall", "std::sys::sync::mutex::futex::Mutex::lock_contended", "main"]) == .mutex)
        #expect(C.kind(op: .wait, userFrames: ["syscall", "std::sys::sync::condvar::futex::Condvar::wait_optional_timeout"]) == .condvar)
        #expect(C.kind(op: .wait, userFrames: ["syscall", "std::sys::sync::rwlock::futex::RwLock::read_contended"]) == .rwlock)
        #expect(C.kind(op: .wait, userFrames: ["runtime.futex", "runtime.futexsleep", "runtime.notesleep", "runtime.stopm"]) == .semaphore)
        #expect(C.kind(op: .wait, userFrames: ["runtime.futex", "runtime.futexsleep", "runtime.lock2"]) == .mutex)
        // Frames lost, or none: unknown. A whole stack naming nothing known: other futex.
        #expect(C.kind(op: .waitBitset, userFrames: userStacks[130]!) == .unknown)
        #expect(C.kind(op: .waitBitset, userFrames: ["libc.so.6+0x8a1b2", "start_thread"]) == .unknown)
        #expect(C.kind(op: .wait, userFrames: []) == .unknown)
        #expect(C.kind(op: .wait, userFrames: ["[user stack: waiting since before the trace]"]) == .unknown)
        #expect(C.kind(op: .wait, userFrames: userStacks[140]!) == .otherFutex)
        #expect(C.kind(op: .futexWait2, userFrames: ["my_futex_wait", "main"]) == .otherFutex)
        // Waker leaves.
        #expect(C.wakerKind(userFrames: ["sem_post@@GLIBC_2.34", "p"], kernelFrames: []) == .semaphore)
        #expect(C.wakerKind(userFrames: ["__lll_lock_wake", "x"], kernelFrames: []) == .mutex)
        #expect(C.wakerKind(userFrames: ["pthread_rwlock_unlock", "x"], kernelFrames: []) == .rwlock)
        #expect(C.wakerKind(userFrames: ["pthread_cond_broadcast", "x"], kernelFrames: []) == .condvar)
        #expect(C.wakerKind(userFrames: ["__exit_thread"], kernelFrames: ["try_to_wake_up", "futex_wake", "exit_mm_release", "do_exit"]) == .join)
        #expect(C.wakerKind(userFrames: ["write", "main"], kernelFrames: []) == nil)
    }

    /// Checks which kinds are idle, and that every kind has a distinct token without spaces.
    @Test func kindProperties() {
        #expect(LockKind.allCases.filter { $0.isIdle } == [.condvar, .condvarPI, .semaphore, .barrier, .join])
        #expect(Set(LockKind.allCases.map(\.token)).count == LockKind.allCases.count)
        #expect(LockKind.allCases.allSatisfy { !$0.token.contains(" ") })
    }

    /// Checks that a waiter stack that is a marker is shown as such, not classified.
    @Test func markerStacks() {
        let before = StackData.Marker.beforeTrace.rawValue
        let data = LockData(waits: [wait(40, 0xa000, 2_000)],
                            wakers: [waker(40, 0xa000, waiterStack: before, waker: 41, wakerStack: 101, ns: 2_000)])
        let lock = LockReport(data, symbols: symbols).contended[0]
        #expect(lock.waiterStacks[0].userFrames == ["[user stack: waiting since before the trace]"])
        #expect(lock.kind == .mutex) // from the waker's leaf, __lll_lock_wake
    }

    /// Checks that drop counters pass through, and that sums saturate instead of trapping.
    @Test func dropsAndSaturation() {
        let data = LockData(waits: [wait(1, 0x1000, .max - 1), wait(2, 0x1000, 10)],
                            waitsDropped: 3, waitsDroppedNs: 4_000, wakersDropped: 5)
        let r = LockReport(data, symbols: symbols)
        #expect(r.contended[0].waitNs == .max)
        #expect(r.waitsDropped == 3 && r.waitsDroppedNs == 4_000 && r.wakersDropped == 5)
    }
}
