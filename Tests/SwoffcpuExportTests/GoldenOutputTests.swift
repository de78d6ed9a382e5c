import Foundation
import SwoffcpuCore
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

/// Every report format rendered from one fixed trace and compared byte for byte with the files
/// in `Golden/`: the safety net for moving code between targets (the output must not change).
/// After an intended change of format: `SWOFFCPU_UPDATE_GOLDENS=1 swift test --filter GoldenOutputTests`
/// (or `scripts/update-goldens.sh`), and review the diff of `Golden/`.
@Suite struct GoldenOutputTests {
    /// Off-CPU stacks of the sample report's threads, including markers and shared stacks.
    static var stacks: SymbolizedStacks {
        func s(_ state: ThreadState, _ comm: String, _ tid: Int32, _ user: [String], _ kernel: [String], _ ns: UInt64) -> StackSample {
            StackSample(state: state, comm: comm, tid: tid, userFrames: user, kernelFrames: kernel, valueNs: ns)
        }
        let futex = ["__schedule", "schedule", "futex_wait", "do_futex", "__x64_sys_futex", "do_syscall_64",
                     "entry_SYSCALL_64_after_hwframe"]
        let poll = ["__schedule", "schedule", "do_sys_poll", "__x64_sys_poll", "do_syscall_64"]
        return SymbolizedStacks([
            s(.blocked, "worker-1", 4243, ["__lll_lock_wait", "pthread_mutex_lock", "lock_inner", "worker", "start_thread", "clone3"], futex, 400_000_000),
            s(.blocked, "worker-1", 4243, ["__futex_abstimed_wait_common", "pthread_cond_wait", "consume", "worker", "start_thread", "clone3"], futex, 87_000_000),
            s(.blocked, "worker-2", 4244, ["__lll_lock_wait", "pthread_mutex_lock", "lock_inner", "worker", "start_thread", "clone3"], futex, 4_900_000_000),
            s(.sleep, "worker-1", 4243, ["read", "load_file", "worker", "start_thread", "clone3"], ["__schedule", "schedule", "pipe_read", "vfs_read"], 4_000_000_000),
            s(.sleepUninterruptible, "worker-1", 4243, ["fdatasync", "flush", "worker"], ["__schedule", "io_schedule", "folio_wait_bit"], 500_000_000),
            s(.sleep, "server", 4242, ["__poll", "main", "__libc_start_call_main"], poll, 4_999_999_000),
            s(.runnable, "worker-1", 4243, ["memcpy", "worker"], ["__schedule", "preempt_schedule_irq"], 1_200_000),
            s(.runnable, "worker-2", 4244, ["[not sampled]"], [], 30_000),
            s(.sleep, "short-lived", 4250, ["[lost: stack map full]"], [], 1_000_000),
            s(.sleep, "helper", 99, ["[user stack: waiting since before the trace]"], poll, 2_500_000_000),
        ])
    }

    static var sampling: StackData {
        StackData(switchOuts: 1_234, walks: 321, walkOneIn: 64, walkPeriodNs: 10_000_000)
    }

    @Test func tableText() throws {
        try Self.check("table.txt", BreakdownTable(color: false, maxThreadsPerProcess: 3, target: "server (pid 4242), helper (pid 99)")
            .render(ReportFixtures.sample))
    }

    @Test func topStacksText() throws {
        try Self.check("top-stacks.txt", TopStacks(top: 2).render(Self.stacks, note: "Stacks: golden fixture."))
    }

    @Test func lockText() throws {
        try Self.check("locks.txt", LockText().render(lockReport()) + "\n--- top 1, 72 columns\n"
            + LockText(top: 1, width: 72).render(lockReport(waiters: 6)))
    }

    @Test func foldedText() throws {
        let folded = FoldedWriter(options: .init(includeThread: true)).fold(Self.stacks)
        try Self.check("stacks.folded", folded.text)
        try Self.check("wakers.folded", WakerFolded(includeThread: true).render(lockReport()))
    }

    @Test func reportJSON() throws {
        var report = ReportFixtures.sample
        report.stacks = Self.sampling
        var trace = ResolvedTrace(report: report, stacks: Self.stacks, locks: lockReport())
        trace.degraded = ["kernel frames unnamed: /proc/kallsyms hides its addresses (kernel.kptr_restrict=2)"]
        let json = ReportJSON(trace: trace)
        // What the CLI writes: the streamed form, which must equal the rendered one.
        var written: [UInt8] = []
        json.write { written += $0 }
        try Self.check("report.json", String(decoding: written, as: UTF8.self))
        #expect(json.render(pretty: true) == String(decoding: written, as: UTF8.self))
        try Self.check("report-compact.json", json.render(pretty: false))
    }

    /// Compares `text` with `Golden/name`, or writes it there when asked to update.
    static func check(_ name: String, _ text: String, filePath: String = #filePath) throws {
        let dir = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Golden")
        let url = dir.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["SWOFFCPU_UPDATE_GOLDENS"] == "1" {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            return
        }
        let expected = try #require(try? String(contentsOf: url, encoding: .utf8),
                                    "missing golden file \(name): run scripts/update-goldens.sh")
        if expected != text {
            let a = expected.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let b = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var first = 0
            while first < a.count && first < b.count && a[first] == b[first] { first += 1 }
            let want = first < a.count ? a[first] : "<end>"
            let got = first < b.count ? b[first] : "<end>"
            Issue.record("\(name) differs from its golden file at line \(first + 1):\n  expected: \(want)\n  actual:   \(got)")
        }
    }
}
