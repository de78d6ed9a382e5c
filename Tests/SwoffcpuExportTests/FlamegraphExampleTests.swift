import Foundation
import SwoffcpuCore
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

/// A synthetic but plausible trace: a ledger server whose eight workers contend on one mutex,
/// an acceptor in epoll, a journal flusher in fsync, some preemption. It stands in for a real
/// trace in docs/img/flamegraph-example.png until one replaces it.
enum FlamegraphExample {
    static let window: UInt64 = 10_000_000_000 // 10 s

    static func samples() -> [StackSample] {
        var generator = TestRNG(seed: 4242)
        var samples: [StackSample] = []
        let futexKernel = ["__schedule", "schedule", "futex_wait_queue", "futex_wait", "do_futex", "__x64_sys_futex",
                           "do_syscall_64", "entry_SYSCALL_64_after_hwframe"]
        func add(_ state: ThreadState, _ comm: String, _ tid: Int32, _ user: [String], _ kernel: [String], _ ms: Double) {
            let jitter = Double.random(in: 0.85...1.15, using: &generator)
            samples.append(StackSample(state: state, comm: comm, tid: tid, userFrames: user.reversed(),
                                       kernelFrames: kernel, valueNs: UInt64(ms * jitter * 1_000_000)))
        }
        let request = ["start_thread", "Worker.run()", "Server.handle(_:)"]
        for worker in 0..<8 {
            let tid = Int32(4243 + worker)
            let comm = "worker-\(worker)"
            // The hot lock: Ledger.apply takes the ledger mutex for every transfer.
            add(.blocked, comm, tid, request + ["TransferHandler.process(_:)", "Ledger.apply(_:)", "Mutex.withLock(_:)",
                                                "pthread_mutex_lock", "__lll_lock_wait"], futexKernel, 3_900)
            add(.blocked, comm, tid, request + ["BalanceHandler.process(_:)", "Ledger.balance(of:)", "Mutex.withLock(_:)",
                                                "pthread_mutex_lock", "__lll_lock_wait"], futexKernel, 1_150)
            add(.blocked, comm, tid, request + ["AuditLog.append(_:)", "Mutex.withLock(_:)", "pthread_mutex_lock",
                                                "__lll_lock_wait"], futexKernel, 420)
            // Idle workers wait for work on a condition variable.
            add(.blocked, comm, tid, ["start_thread", "Worker.run()", "WorkQueue.pop()", "Condition.wait(_:)",
                                      "pthread_cond_wait", "__futex_abstimed_wait_common"], futexKernel, 1_700)
            // Preempted while holding or computing.
            add(.runnable, comm, tid, request + ["TransferHandler.process(_:)", "Ledger.apply(_:)", "Ledger.validate(_:)"],
                ["preempt_schedule_irq", "irqentry_exit", "asm_sysvec_apic_timer_interrupt"], 260)
            add(.runnable, comm, tid, request + ["TransferHandler.process(_:)", "Ledger.apply(_:)", "Mutex.withLock(_:)",
                                                 "pthread_mutex_unlock", "__lll_unlock_wake"],
                ["__schedule", "schedule", "exit_to_user_mode_loop", "syscall_exit_to_user_mode", "do_syscall_64",
                 "entry_SYSCALL_64_after_hwframe"], 140)
            add(.onCPU, comm, tid, request + ["TransferHandler.process(_:)", "Ledger.apply(_:)", "Ledger.validate(_:)",
                                              "SHA256.hash(data:)"], [], 380)
            add(.onCPU, comm, tid, request + ["JSONDecoder.decode(_:from:)"], [], 150)
            add(.sleep, comm, tid, request + ["Connection.read()", "read"],
                ["__schedule", "schedule", "schedule_timeout", "wait_woken", "sk_wait_data", "tcp_recvmsg", "inet_recvmsg",
                 "sock_read_iter", "vfs_read", "ksys_read", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"], 900)
        }
        add(.sleep, "acceptor", 4251, ["start_thread", "Acceptor.run()", "EventLoop.run()", "epoll_wait"],
            ["__schedule", "schedule", "schedule_hrtimeout_range", "do_epoll_wait", "__x64_sys_epoll_wait", "do_syscall_64",
             "entry_SYSCALL_64_after_hwframe"], 9_600)
        add(.sleepUninterruptible, "flusher", 4252, ["start_thread", "Journal.flushLoop()", "Journal.flush()", "fsync"],
            ["__schedule", "schedule", "io_schedule", "folio_wait_bit_common", "__filemap_fdatawait_range",
             "file_write_and_wait_range", "ext4_sync_file", "__x64_sys_fsync", "do_syscall_64",
             "entry_SYSCALL_64_after_hwframe"], 2_300)
        add(.sleep, "flusher", 4252, ["start_thread", "Journal.flushLoop()", "Thread.sleep(forTimeInterval:)", "nanosleep"],
            ["__schedule", "schedule", "do_nanosleep", "hrtimer_nanosleep", "__x64_sys_clock_nanosleep", "do_syscall_64",
             "entry_SYSCALL_64_after_hwframe"], 7_200)
        add(.sleep, "ledgerd", 4242, ["__libc_start_main", "main", "Server.waitForShutdown()", "pthread_join"],
            futexKernel, 9_990)
        return samples
    }

    static var options: FlamegraphOptions {
        let total = samples().reduce(UInt64(0)) { $0 + $1.valueNs }
        let offCPU = samples().filter { $0.state != .onCPU }.reduce(UInt64(0)) { $0 + $1.valueNs }
        return FlamegraphOptions(
            title: "Off-CPU time: ledgerd (pid 4242)",
            subtitle: "window \(DurationFormat.format(ns: window)) · 11 threads · thread time \(DurationFormat.format(ns: total))"
                + ", off-CPU \(DurationFormat.format(ns: offCPU)) · synthetic mutex-contention example")
    }
}

@Suite struct FlamegraphExampleTests {
    /// Checks that the example trace renders to a valid SVG whose total matches its folded file; with
    /// SWOFFCPU_FLAMEGRAPH_EXAMPLE_DIR set, also writes example.folded and example.svg there
    /// (scripts/check-flamegraph.sh --example uses this).
    @Test func example() throws {
        let folded = FoldedWriter().fold(FlamegraphExample.samples())
        let document = FlamegraphWriter(options: FlamegraphExample.options).document(folded.stacks)
        let svg = ParsedFlamegraph(document.svg)
        #expect(svg.isValid)
        #expect(svg.rootAttributes["data-total"] == String(folded.summary.valueSum))
        #expect(document.stats.hiddenFrames == 0)
        if let directory = ProcessInfo.processInfo.environment["SWOFFCPU_FLAMEGRAPH_EXAMPLE_DIR"], !directory.isEmpty {
            try AtomicFile.write(folded.text, to: directory + "/example.folded")
            try AtomicFile.write(document.svg, to: directory + "/example.svg")
        }
    }
}
