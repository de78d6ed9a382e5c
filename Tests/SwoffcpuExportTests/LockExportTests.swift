import Foundation
import Testing
import SwoffcpuCore
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

/// A lock report built from synthetic kernel tables, as the CLI builds it.
func lockReport(name: String = "g_hot_lock", waiters: Int32 = 4, comm: (Int32) -> String = { "hot\($0 - 100)" },
                        timer: Bool = false) -> LockReport {
    var waits: [LockData.Wait] = []
    var wakers: [LockData.Waker] = []
    for i in 0..<waiters {
        let tid = 100 + i
        waits.append(LockData.Wait(tgid: 1, tid: tid, uaddr: 0x1000, op: .wait, waitNs: 1_000_000_000 + UInt64(i) * 1_000,
                                   waits: 500, maxWaitNs: 6_000_000))
        wakers.append(LockData.Waker(tgid: 1, waiterTid: tid, uaddr: 0x1000, waiterUserStack: 10, waiterKernelStack: 20,
                                     wakerTid: 100 + (i + 1) % waiters, wakerTgid: 1, wakerUserStack: 11,
                                     wakerKernelStack: timer && i == 0 ? 22 : 21,
                                     weightedNs: 999_000_000 + UInt64(i) * 1_000, wakeups: 500))
    }
    waits.append(LockData.Wait(tgid: 1, tid: 200, uaddr: 0x2000, op: .waitBitset, waitNs: 2_000_000_000, waits: 10,
                               maxWaitNs: 300_000_000))
    wakers.append(LockData.Waker(tgid: 1, waiterTid: 200, uaddr: 0x2000, waiterUserStack: 12, waiterKernelStack: 20,
                                 wakerTid: 201, wakerTgid: 1, wakerUserStack: 13, wakerKernelStack: 21,
                                 weightedNs: 2_000_000_000, wakeups: 10))
    waits.append(LockData.Wait(tgid: 1, tid: 300, uaddr: 0x7f00_0000_1000, op: .wait, waitNs: 5_000, waits: 1, maxWaitNs: 5_000))
    let data = LockData(waits: waits, wakers: wakers, waitsDropped: 7, waitsDroppedNs: 8_000, wakersDropped: 9)
    let user: [UInt64: [String]] = [
        10: ["__lll_lock_wait", "pthread_mutex_lock", "hot_worker", "start_thread", "clone3"],
        11: ["__lll_lock_wake", "__pthread_mutex_unlock_usercnt", "hot_critical_section", "hot_worker",
             "start_thread", "clone3"],
        12: ["__futex_abstimed_wait_common", "__pthread_cond_wait_common", "pthread_cond_wait", "consumer"],
        13: ["pthread_cond_signal", "producer", "start_thread"],
    ]
    let kernel: [UInt64: [String]] = [20: ["__schedule", "schedule", "futex_wait"],
                                      21: ["try_to_wake_up", "wake_up_q", "futex_wake"],
                                      22: ["try_to_wake_up", "hrtimer_wakeup", "__hrtimer_run_queues"]]
    var threads = (0..<waiters).map { i in
        ThreadRecord(tid: 100 + i, tgid: 1, comm: comm(100 + i), startNs: 0, endNs: 10, times: StateTimes(onCPU: 10))
    }
    threads += [ThreadRecord(tid: 200, tgid: 1, comm: "consumer", startNs: 0, endNs: 10, times: StateTimes(onCPU: 10)),
                ThreadRecord(tid: 201, tgid: 1, comm: "producer", startNs: 0, endNs: 10, times: StateTimes(onCPU: 10))]
    let report = TraceReport(windowStartNs: 0, windowEndNs: 10,
                             processes: [ProcessReport(pid: 1, comm: "app", exited: false, threads: threads)],
                             lost: LostCounts())
    return LockReport(data, report: report, symbols: LockReport.Symbols(
        userFrames: { _, id in user[id] ?? [] }, kernelFrames: { kernel[$0] ?? [] },
        lockName: { _, a in a == 0x1000 ? name : a == 0x2000 ? "g_queue_cond+0x28" : nil }))
}

@Suite("Lock export")
struct LockExportTests {
    /// Checks the text sections: titles, the row of numbers, the stacks innermost first without
    /// thread-start frames, the releasers with shares, the idle section, the note with the drops.
    @Test func textSections() {
        let text = LockText().render(lockReport())
        print(text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "Contended locks: 2 futexes, 4.00s of waits, most first")
        #expect(lines.contains { $0.hasPrefix("    1  g_hot_lock ") && $0.contains("mutex") && $0.contains("4.00s")
                && $0.contains("2000") && $0.contains("2.00ms") && $0.contains("6.00ms") && $0.hasSuffix("4") })
        #expect(lines.contains { $0.contains("waiting") && $0.contains("100.0%")
                && $0.hasSuffix("__lll_lock_wait ← pthread_mutex_lock ← hot_worker") })
        #expect(lines.contains { $0.contains("released") && $0.contains("__lll_lock_wake ← __pthread_mutex_unlock_usercnt") })
        #expect(lines.contains { $0.trimmingCharacters(in: .whitespaces) == "← hot_worker" || $0.hasSuffix("hot_critical_section ← hot_worker") })
        #expect(lines.contains { $0.contains("releasers") && $0.contains("hot1-101 25.0%") })
        #expect(lines.contains { $0.contains("0x1000 · app (pid 1) · FUTEX_WAIT") })
        #expect(lines.contains { $0.contains("0x7f0000001000") && $0.contains("unknown") })
        #expect(lines.contains { $0.contains("[no walked wait ended in the window: no stack]") })
        #expect(lines.contains { $0.hasPrefix("Idle waits (condition variables, semaphores, barriers, joins): 1 futex, 2.00s") })
        #expect(lines.contains { $0.contains("g_queue_cond+0x28") && $0.contains("condvar") })
        #expect(text.contains("Not recorded, lock maps full: 7 waits (8.00µs), 9 wakeups."))
        #expect(!text.contains("start_thread"))
        #expect(lines.allSatisfy { TerminalText.width($0) <= 100 })
    }

    /// Checks the width under stress: a 200-character C++ name, hostile comms, 60 waiters, a narrow
    /// terminal; and that --top limits the locks listed.
    @Test(arguments: [100, 72])
    func fitsTheWidth(width: Int) {
        let long = "ns::" + String(repeating: "very_long_namespace::", count: 9) + "g_lock+0x28"
        let r = lockReport(name: long, waiters: 60, comm: { "w\u{1b}[31m-\($0)-" + String(repeating: "界", count: 10) })
        let text = LockText(top: 1, width: width).render(r)
        for line in text.split(separator: "\n") {
            #expect(TerminalText.width(String(line)) <= width, "\(line)")
            #expect(!line.contains("\u{1b}"))
        }
        #expect(text.contains("… 1 more (--top N; --json FILE lists all)"))
        #expect(width < 100 || LockText(top: 1, width: width).render(lockReport(waiters: 60)).contains(", +54 more"))
        #expect(LockText(top: 0).render(r).isEmpty)
    }

    /// Checks the "none" line when nothing was contended.
    @Test func noLocks() {
        let text = LockText().render(LockReport())
        #expect(text.hasPrefix("Contended locks: none"))
        #expect(!text.contains("Idle waits"))
    }

    /// Checks counts in at most 6 characters.
    @Test func compactCounts() {
        #expect(LockText.count(0) == "0")
        #expect(LockText.count(99_999) == "99999")
        #expect(LockText.count(123_456) == "123k")
        #expect(LockText.count(1_234_567) == "1.23M")
        #expect(LockText.count(1_204_567) == "1.20M")
        #expect(LockText.count(12_345_678) == "12.3M")
        #expect(LockText.count(123_456_789) == "123M")
        #expect(LockText.count(1_234_567_890) == "1.23G")
        #expect(LockText.count(.max).count <= 6)
    }

    /// Checks that the JSON members parse back with every documented key, exact integers,
    /// all locks (contended and idle) by total wait, and the drop counters.
    @Test func jsonParsesBack() throws {
        var extra = JSONObject()
        for m in LockJSON.members(lockReport()).members { extra[m.key] = m.value }
        let report = TraceReport(windowStartNs: 0, windowEndNs: 10, processes: [], lost: LostCounts())
        let text = ReportJSON(report: report, extraMembers: extra).render()
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let locks = try #require(doc["locks"] as? [[String: Any]])
        #expect(locks.map { $0["name"] as? String } == ["g_hot_lock", "g_queue_cond+0x28", "0x7f0000001000"])
        let hot = locks[0]
        #expect(Set(hot.keys) == Set(["pid", "comm", "address", "address_hex", "name", "kind", "idle", "op", "ops",
                                      "wait_ns", "waits", "avg_wait_ns", "max_wait_ns", "waiters", "sampled_wait_ns",
                                      "waiter_stacks", "waiter_stacks_omitted", "releaser_stacks",
                                      "releaser_stacks_omitted", "releasers"]))
        #expect((hot["address"] as? NSNumber)?.uint64Value == 0x1000)
        #expect(hot["kind"] as? String == "mutex" && hot["idle"] as? Bool == false)
        #expect((hot["wait_ns"] as? NSNumber)?.uint64Value == 4_000_006_000)
        let waiters = try #require(hot["waiters"] as? [[String: Any]])
        #expect(waiters.map { ($0["tid"] as? NSNumber)?.int32Value } == [103, 102, 101, 100])
        let stacks = try #require(hot["releaser_stacks"] as? [[String: Any]])
        #expect((stacks[0]["user_frames"] as? [String])?[2] == "hot_critical_section")
        #expect((stacks[0]["kernel_frames"] as? [String]) == ["try_to_wake_up", "wake_up_q", "futex_wake"])
        let releasers = try #require(hot["releasers"] as? [[String: Any]])
        #expect(releasers.count == 4 && Set(releasers.map { $0["comm"] as? String }) == ["hot0", "hot1", "hot2", "hot3"])
        #expect(locks[1]["kind"] as? String == "condvar" && locks[1]["idle"] as? Bool == true)
        #expect(locks[1]["op"] as? String == "FUTEX_WAIT_BITSET")
        #expect(locks[2]["kind"] as? String == "unknown")
        let drops = try #require(doc["lock_drops"] as? [String: Any])
        #expect((drops["waits_dropped"] as? NSNumber)?.uint64Value == 7)
        #expect((drops["waits_dropped_ns"] as? NSNumber)?.uint64Value == 8_000)
        #expect((drops["wakers_dropped"] as? NSNumber)?.uint64Value == 9)
    }

    /// Checks the folded wakers: offwaketime's layout (waiter root first, `--`, waker leaf
    /// first, waker comm last), kernel suffixes, µs values, merged and sorted lines, and the
    /// lines parse back with the project's folded parser.
    @Test func foldedWakers() throws {
        let result = WakerFolded().fold(lockReport())
        let text = result.text
        print(text)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } == lines)
        let hot = try #require(lines.first { $0.hasPrefix("blocked;mutex g_hot_lock;") && $0.hasSuffix(";hot1 999000") })
        #expect(hot == "blocked;mutex g_hot_lock;clone3;start_thread;hot_worker;pthread_mutex_lock;__lll_lock_wait;"
                + "futex_wait_[k];schedule_[k];__schedule_[k];--;try_to_wake_up_[k];wake_up_q_[k];futex_wake_[k];"
                + "__lll_lock_wake;__pthread_mutex_unlock_usercnt;hot_critical_section;hot_worker;start_thread;clone3;"
                + "hot1 999000")
        #expect(lines.contains { $0.hasPrefix("blocked;condvar g_queue_cond+0x28;consumer;pthread_cond_wait;") && $0.hasSuffix(";producer 2000000") })
        #expect(result.summary.samples == 5 && result.summary.lines == 5)
        let parsed = try FoldedParser().parse(text)
        #expect(parsed.count == 5)
        #expect(parsed.allSatisfy { $0.frames.contains(WakerFolded.separator) })
        // With threads: the waiter's comm-TID under the lock, the waker's comm-TID on top.
        let threaded = WakerFolded(includeThread: true).render(lockReport())
        #expect(threaded.contains("blocked;mutex g_hot_lock;hot0-100;clone3;"))
        #expect(threaded.contains(";hot1-101 999000"))
    }

    /// Checks that a timer's wakeup is labelled [timeout], not the interrupted thread, and carries
    /// the timer's path only: the interrupted thread's stacks did not release anything (issue 15).
    @Test func timerWakeups() {
        let r = lockReport(timer: true)
        #expect(WakerFolded().render(r).contains("hrtimer_wakeup_[k];__hrtimer_run_queues_[k];[timeout] 999000"))
        #expect(!WakerFolded().render(r).contains("__hrtimer_run_queues_[k];__lll_lock_wake"))
        #expect(WakerFolded().render(r).contains(";[timeout] 999000"))
        #expect(r.contended[0].releasers.contains { $0.label == "[timeout]" })
    }
}
