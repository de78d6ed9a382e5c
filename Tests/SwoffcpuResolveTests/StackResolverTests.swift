import Foundation
import SwoffcpuCore
import Testing
@testable import SwoffcpuResolve
#if canImport(Glibc)
import Glibc
#endif

/// The resolve stage on a recorded trace of this very process (no root, no BPF): kernel-shaped
/// stack and lock tables whose addresses are functions and data of the test process's own libc.
@Suite struct StackResolverTests {
    static let pid = getpid()
    static let tid: Int32 = 4242

    /// The address of a libc symbol in this process.
    static func address(_ name: String) throws -> UInt64 {
        let handle = dlopen(nil, RTLD_NOW)
        defer { if let handle { dlclose(handle) } }
        let p = try #require(dlsym(handle, name), "dlsym \(name)")
        return UInt64(UInt(bitPattern: p))
    }

    /// A report of one thread blocked for `blocked` ns, whose only walked stack is `user`
    /// (leaf first), with the lock tables given.
    static func report(user: [UInt64], blocked: UInt64, locks: LockData? = nil) -> TraceReport {
        let thread = ThreadRecord(tid: tid, tgid: pid, comm: "waiter", startNs: 0, endNs: 10_000,
                                  times: StateTimes(onCPU: 10_000 - blocked, blocked: blocked))
        var r = TraceReport(windowStartNs: 0, windowEndNs: 10_000,
                            processes: [ProcessReport(pid: pid, comm: "tests", exited: false, threads: [thread])],
                            lost: LostCounts())
        r.stacks = StackData(entries: [StackData.Entry(tid: tid, state: .blocked, userStack: 77,
                                                       kernelStack: StackData.Marker.none.rawValue,
                                                       weightedNs: 3 * blocked, intervals: 3)],
                             userFrames: WordRuns([77: user]), walkOneIn: 64)
        r.locks = locks
        return r
    }

    /// Checks that a recorded user stack resolves to the functions its addresses are in, leaf
    /// first, that a return address is named by the call before it (address - 1), and that the
    /// sampled estimate is scaled to the thread's exact blocked time.
    @Test func stackNamedAndAttributedExactly() throws {
        let leaf = try Self.address("nanosleep") + 4
        // A return address just past the start of a function names that function when looked
        // up at address - 1; one exactly at a function's start names the function before it.
        let caller = try Self.address("pthread_mutex_lock") + 9
        var resolver = StackResolver()
        resolver.snapshot(pid: Self.pid)
        let stacks = resolver.stacks(Self.report(user: [leaf, caller], blocked: 1_234))
        #expect(resolver.problems.filter { $0.hasPrefix("process") }.isEmpty, "\(resolver.problems)")
        let sample = try #require(stacks.samples.first)
        #expect(stacks.samples.count == 1)
        #expect(sample.state == .blocked && sample.tid == Self.tid && sample.comm == "waiter")
        #expect(sample.valueNs == 1_234, "scaled to the exact total, not the weighted estimate")
        let names = stacks.table.names(sample.userStack)
        #expect(names.count == 2)
        #expect(names.first?.hasSuffix("nanosleep") == true, "\(names)")
        #expect(names.last?.hasSuffix("pthread_mutex_lock") == true, "\(names)")
        #expect(stacks.table.names(sample.kernelStack).isEmpty)
    }

    /// Checks that a thread with time in a state but no walked stack is "[not sampled]", and a
    /// user stack id the kernel could not store is "[lost: stack map full]".
    @Test func markersForWhatWasNotWalked() {
        var resolver = StackResolver()
        resolver.snapshot(pid: Self.pid)
        var report = Self.report(user: [], blocked: 500)
        report.stacks?.entries[0].userStack = StackData.Marker.mapFull.rawValue
        let stacks = resolver.stacks(report)
        #expect(stacks.samples.map { stacks.table.names($0.userStack) } == [["[lost: stack map full]"]])
        report.stacks?.entries = []
        let unsampled = resolver.stacks(report)
        #expect(unsampled.samples.map { unsampled.table.names($0.userStack) } == [["[not sampled]"]])
        #expect(unsampled.samples.first?.valueNs == 500)
    }

    /// Checks that a futex in a library's data is named by its symbol, and that waits, kinds
    /// and the model's target description come out of the stage.
    @Test func locksNamedFromTheSnapshot() throws {
        let word = try Self.address("stdout")
        let waits = [LockData.Wait(tgid: Self.pid, tid: Self.tid, uaddr: word, op: .wait, waitNs: 900, waits: 3,
                                   maxWaitNs: 400)]
        var resolver = StackResolver()
        resolver.snapshot(pid: Self.pid)
        let report = Self.report(user: [], blocked: 900, locks: LockData(waits: waits))
        let locks = try #require(LockResolver.report(report, resolver: resolver))
        let lock = try #require(locks.all.first)
        #expect(lock.name.contains("stdout"), "\(lock.name)")
        #expect(lock.waitNs == 900 && lock.waits == 3)
        let trace = ResolvedTrace(report: report, stacks: resolver.stacks(report), locks: locks)
        #expect(trace.targetDescription == "tests (pid \(Self.pid))")
    }
}
