import Foundation
import SwoffcpuBPF
import SwoffcpuCore
import SwoffcpuSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A cgroup v2 made for one test (`--cgroup`): a child of the cgroup2 hierarchy's root; if no
/// cgroup2 is mounted (a v1-only machine), one is mounted on a temporary directory first.
/// Processes are moved out to the test's own cgroup. Removed (and unmounted) by `remove()`.
final class TestCgroupV2 {
    let path: String
    let outside: String
    private var mounted: String?

    init(name: String) throws {
        var root = CgroupV2.mountPoint()
        if root == nil {
            let dir = NSTemporaryDirectory() + "/swoffcpu-cgroup2-\(getpid())"
            mkdir(dir, 0o755)
            let status = try Spawn.run("/bin/mount", ["-t", "cgroup2", "none", dir])
            guard status == 0 else { throw Procfs.Failure(description: "mount -t cgroup2 on \(dir): exit \(status)") }
            mounted = dir
            root = dir
        }
        let mount = root!
        path = mount + "/" + name
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw Procfs.Failure(description: "mkdir \(path): \(String(cString: strerror(errno)))")
        }
        // The test's own cgroup in the v2 hierarchy ("0::/PATH").
        let own = ((try? Procfs.readString("/proc/self/cgroup")) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) } ?? "/"
        outside = mount + (own == "/" ? "" : own)
    }

    func add(_ pid: Int32) throws { try Self.write(pid, to: path + "/cgroup.procs") }
    func moveOut(_ pid: Int32) throws { try Self.write(pid, to: outside + "/cgroup.procs") }

    func contains(_ pid: Int32) -> Bool {
        ((try? Procfs.readString(path + "/cgroup.procs")) ?? "").split(separator: "\n").contains { Int32($0) == pid }
    }

    private static func write(_ pid: Int32, to file: String) throws {
        let fd = open(file, O_WRONLY)
        guard fd >= 0 else { throw Procfs.Failure(description: "open \(file): errno \(errno)") }
        defer { close(fd) }
        let text = "\(pid)\n"
        guard text.withCString({ Glibc.write(fd, $0, strlen($0)) }) == text.utf8.count else {
            throw Procfs.Failure(description: "write \(pid) to \(file): errno \(errno)")
        }
    }

    /// Removes the (empty) cgroup: after its processes were reaped or moved out.
    func remove() {
        for _ in 0..<50 {
            if rmdir(path) == 0 || errno == ENOENT { break }
            usleep(20_000)
        }
        if let mounted {
            _ = try? Spawn.run("/bin/umount", [mounted])
            rmdir(mounted)
        }
    }
}

extension IntegrationTests {
    @Suite("Service targets: --cgroup, -a, --interval")
    struct ServiceTargets {
        /// --cgroup: a process inside from the start and moved out, one moved in, one never in,
        /// and processes a shell inside keeps starting. Each is counted exactly while inside:
        /// a task's record starts at its move in (or birth, or the window start) and ends at its
        /// move out (or exit, or the window end), stamped between the test's clock reads around
        /// the write to cgroup.procs, and its on-CPU time lies between schedstat's readings
        /// bracketing those instants.
        @Test func cgroupCountsTasksOnlyWhileInside() throws {
            let cg = try TestCgroupV2(name: "swoffcpu-test-svc-\(getpid())")
            defer { cg.remove() }
            let leaver = try Workload("spinner")
            defer { leaver.stop() }
            let joiner = try Workload("spinner")
            defer { joiner.stop() }
            let outsider = try Workload("spinner")
            defer { outsider.stop() }
            // A shell inside that starts a `sleep` process every 50 ms: processes born inside.
            let shell = try Spawn.spawn("/bin/sh", ["-c", "echo $$ > '\(cg.path)/cgroup.procs' && while :; do sleep 0.05; done"])
            defer {
                kill(shell, SIGKILL)
                _ = try? waitChild(shell)
            }
            try cg.add(leaver.pid)
            for _ in 0..<200 where !cg.contains(shell) { usleep(10_000) }
            #expect(cg.contains(shell))

            let leaverSpin = try leaver.tid("spin"), joinerSpin = try joiner.tid("spin")
            var options = TraceOptions(pids: [])
            options.target = .cgroup(try CgroupV2(path: cg.path))
            options.userStacks = false
            options.kernelStacks = false
            let session = try TraceSession(options: options)
            let leaverPre = try Procfs.schedstat(pid: leaver.pid, tid: leaverSpin)
            try session.start()
            let leaverPost = try Procfs.schedstat(pid: leaver.pid, tid: leaverSpin)
            func pause(_ s: Double) {
                let end = Procfs.monotonicNs() + UInt64(s * 1e9)
                while Procfs.monotonicNs() < end { session.poll(); usleep(50_000) }
            }
            pause(0.6)
            let joinerPre = try Procfs.schedstat(pid: joiner.pid, tid: joinerSpin)
            let joinBefore = Procfs.monotonicNs()
            try cg.add(joiner.pid)
            let joinAfter = Procfs.monotonicNs()
            let joinerPost = try Procfs.schedstat(pid: joiner.pid, tid: joinerSpin)
            pause(0.6)
            let leaverBeforeMove = try Procfs.schedstat(pid: leaver.pid, tid: leaverSpin)
            let leaveBefore = Procfs.monotonicNs()
            try cg.moveOut(leaver.pid)
            let leaveAfter = Procfs.monotonicNs()
            let leaverAfterMove = try Procfs.schedstat(pid: leaver.pid, tid: leaverSpin)
            pause(0.6)
            let joinerBeforeStop = try Procfs.schedstat(pid: joiner.pid, tid: joinerSpin)
            let report = try session.stop()
            let joinerAfterStop = try Procfs.schedstat(pid: joiner.pid, tid: joinerSpin)

            let threads = report.processes.flatMap(\.threads)
            for t in threads.sorted(by: { ($0.tgid, $0.tid) < ($1.tgid, $1.tid) }) {
                print("[cgroup] \(t.tgid)/\(t.tid) \(t.comm): \(f1(ms(t.startNs - report.windowStartNs)))–\(f1(ms(t.endNs - report.windowStartNs))) ms, on-CPU \(f1(ms(t.times.onCPU))) ms, joined \(t.joined) left \(t.left) born \(t.born) exited \(t.exited)")
            }
            #expect(ReportBuilder.validate(report).isEmpty, "\(ReportBuilder.validate(report))")
            #expect(!threads.contains { $0.tgid == outsider.pid }, "a process never in the cgroup was traced")

            // Moved out: every thread's record ends at the move, and is the only one.
            let leaverThreads = threads.filter { $0.tgid == leaver.pid }
            #expect(leaverThreads.count == 2, "main and spin, once each: \(leaverThreads.map(\.tid))")
            for t in leaverThreads {
                #expect(t.left && t.seeded && !t.exited)
                #expect(t.endNs >= leaveBefore && t.endNs <= leaveAfter,
                        "\(t.tid) ends \(signed(msSigned(t.endNs, leaveBefore))) ms after the move began (took \(f2(ms(leaveAfter - leaveBefore))) ms)")
            }
            // Moved in: every thread's record starts at the move and lasts to the window end.
            let joinerThreads = threads.filter { $0.tgid == joiner.pid }
            // Both threads, also when the move's tracepoint (interrupts off) cannot create the
            // second one's task storage: its record then waits in `acct_pending` (issue 12).
            print("[cgroup] records begun without task storage: \(session.deferredRecords), untraced threads: \(report.lost.untracedThreads)")
            #expect(report.lost.untracedThreads == 0, "threads that got no record")
            #expect(joinerThreads.count == 2, "main and spin, once each: \(joinerThreads.map(\.tid))")
            for t in joinerThreads {
                #expect(t.joined && !t.left && !t.exited && t.endNs == report.windowEndNs)
                #expect(t.startNs >= joinBefore && t.startNs <= joinAfter,
                        "\(t.tid) starts \(signed(msSigned(t.startNs, joinBefore))) ms after the move began")
            }
            // The spinners' on-CPU time lies between schedstat's readings around the edges.
            func expectBracketed(_ what: String, _ t: ThreadRecord?, inner: Procfs.Schedstat, outer: Procfs.Schedstat) {
                guard let t else { Issue.record("\(what): no record"); return }
                let on = t.times.onCPU - min(t.times.onCPU, t.stolenNs + t.interruptNs)
                let tol = TracedRun.tolerance(t.windowNs)
                print("[cgroup] \(what): on-CPU \(f1(ms(on))) ms, schedstat \(f1(ms(inner.onCPU)))–\(f1(ms(outer.onCPU))) ms")
                #expect(on + tol >= inner.onCPU && on <= outer.onCPU + tol,
                        "\(what): on-CPU \(f1(ms(on))) ms not within schedstat's \(f1(ms(inner.onCPU)))–\(f1(ms(outer.onCPU))) ms (±\(f1(ms(tol))))")
                #expect(t.times.onCPU + t.times.runnable == t.windowNs, "\(what): a spinner is on-CPU or runnable all its window")
            }
            expectBracketed("moved-out spinner", leaverThreads.first { $0.tid == leaverSpin },
                            inner: leaverBeforeMove - leaverPost, outer: leaverAfterMove - leaverPre)
            expectBracketed("moved-in spinner", joinerThreads.first { $0.tid == joinerSpin },
                            inner: joinerBeforeStop - joinerPost, outer: joinerAfterStop - joinerPre)
            // The shell inside, and processes born inside while tracing.
            #expect(threads.contains { $0.tid == shell && $0.seeded })
            let born = threads.filter { $0.tgid != shell && $0.tgid != leaver.pid && $0.tgid != joiner.pid && $0.born }
            #expect(born.count >= 5, "the shell started a process every 50 ms for 1.8 s: \(born.count) seen")
        }

        /// --cgroup with user stacks: a process that execs inside and exits before the trace ends
        /// (a shell inside runs `sleep 0.05` over and over) has its frames named, from the
        /// symbols taken at its exec (before, every such frame was `[unknown]+0x…`).
        @Test func cgroupNamesProcessesThatExitedMeanwhile() throws {
            let cg = try TestCgroupV2(name: "swoffcpu-test-names-\(getpid())")
            defer { cg.remove() }
            let shell = try Spawn.spawn("/bin/sh", ["-c", "echo $$ > '\(cg.path)/cgroup.procs' && while :; do sleep 0.05; done"])
            defer {
                kill(shell, SIGKILL)
                _ = try? waitChild(shell)
            }
            for _ in 0..<200 where !cg.contains(shell) { usleep(10_000) }
            let dir = try IntegrationTests.Launch.Scratch()
            let r = try ShellRun.run("'\(try swoffcpuBinary())' --cgroup '\(cg.path)' -d 1.5 --all-stacks --no-kernel-stacks --folded '\(dir.path)/out.folded'")
            #expect(r.code == 0, "\(r.stderr)")
            let lines = try String(contentsOfFile: dir.path + "/out.folded", encoding: .utf8).split(separator: "\n")
            var named: UInt64 = 0, unnamed: UInt64 = 0
            for l in lines where l.hasPrefix("sleep;") {
                guard let space = l.lastIndex(of: " "), let v = UInt64(l[l.index(after: space)...]) else { continue }
                let frames = l[..<space].split(separator: ";")
                if frames.contains(where: { $0.hasSuffix("nanosleep") }) { named += v }
                else if frames.contains(where: { $0.hasPrefix("[unknown]+0x7f") }) { unnamed += v }
            }
            // Folded values are µs.
            print("[cgroup-names] sleep's waits in named nanosleep frames \(f1(Double(named) / 1000)) ms, in unnamed libc \(f1(Double(unnamed) / 1000)) ms")
            // A process that exits before the follower's look (every 10 ms; later on a loaded
            // machine, the snapshot itself taking a few ms) can still miss its snapshot: 97 % named
            // on a quiet machine, 0 % before exec snapshots were taken for --cgroup.
            #expect(named > 0 && Double(named) >= 0.5 * Double(named + unnamed),
                    "named \(named) µs, unnamed \(unnamed) µs")
        }

        /// A process of 101 threads (a spinner, nappers, parkers) moved into the cgroup at once
        /// (cgroup.procs): more task-storage
        /// records than the move's tracepoint can create with interrupts off (the allocator's
        /// per-CPU cache holds a few tens). Every thread gets one record, from the move to the
        /// window end, the nappers' (which run again) moved into task storage at their next
        /// event, the parkers' (which never run again) read from where they wait by the dump.
        @Test func cgroupMoveOfManyThreads() throws {
            let cg = try TestCgroupV2(name: "swoffcpu-test-crowd-\(getpid())")
            defer { cg.remove() }
            let crowd = try Workload("crowd", ["-n", "100"])
            defer { crowd.stop() }
            let tids = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(crowd.pid)/task").compactMap { Int32($0) })
            #expect(tids.count == 101)
            var options = TraceOptions(pids: [])
            options.target = .cgroup(try CgroupV2(path: cg.path))
            options.userStacks = false
            options.kernelStacks = false
            let spin = try crowd.tid("spin")
            let session = try TraceSession(options: options)
            try session.start()
            usleep(300_000)
            session.poll()
            let spinPre = try Procfs.schedstat(pid: crowd.pid, tid: spin)
            let joinBefore = Procfs.monotonicNs()
            try cg.add(crowd.pid)
            let joinAfter = Procfs.monotonicNs()
            let spinPost = try Procfs.schedstat(pid: crowd.pid, tid: spin)
            for _ in 0..<3 { usleep(100_000); session.poll() }
            // The parkers never run again: their records, if begun aside, still wait. The
            // adoption pass (swoffcpu runs it once a second) moves them into task storage.
            let waiting = session.pendingRecords
            session.adoptPendingRecords()
            print("[crowd] records waiting for task storage: \(waiting) before the adoption pass, \(session.pendingRecords) after")
            #expect(session.pendingRecords == 0, "the adoption pass left records waiting")
            for _ in 0..<3 { usleep(100_000); session.poll() }
            let spinBeforeStop = try Procfs.schedstat(pid: crowd.pid, tid: spin)
            let report = try session.stop()
            let spinAfterStop = try Procfs.schedstat(pid: crowd.pid, tid: spin)

            #expect(ReportBuilder.validate(report).isEmpty, "\(ReportBuilder.validate(report))")
            let threads = report.processes.flatMap(\.threads).filter { $0.tgid == crowd.pid }
            print("[crowd] \(threads.count) records for \(tids.count) threads; begun without task storage: \(session.deferredRecords), untraced: \(report.lost.untracedThreads)")
            #expect(report.lost.untracedThreads == 0, "threads that got no record")
            #expect(Set(threads.map(\.tid)) == tids, "missing: \(tids.subtracting(threads.map(\.tid)).sorted())")
            #expect(threads.count == tids.count, "one record per thread")
            for t in threads {
                #expect(t.joined && !t.left && !t.exited && t.endNs == report.windowEndNs, "\(t.tid) \(t.comm)")
                #expect(t.startNs >= joinBefore && t.startNs <= joinAfter,
                        "\(t.tid) starts \(signed(msSigned(t.startNs, joinBefore))) ms after the move began")
            }
            // The spinner, on-CPU at the move (its record begun aside when storage ran out): its
            // on-CPU time between schedstat's readings around the move and the stop.
            if let t = threads.first(where: { $0.tid == spin }) {
                let on = t.times.onCPU - min(t.times.onCPU, t.stolenNs + t.interruptNs)
                let inner = (spinBeforeStop - spinPost).onCPU, outer = (spinAfterStop - spinPre).onCPU
                let tol = TracedRun.tolerance(t.windowNs)
                print("[crowd] spin: on-CPU \(f1(ms(on))) ms, schedstat \(f1(ms(inner)))–\(f1(ms(outer))) ms")
                #expect(on + tol >= inner && on <= outer + tol, "spin: on-CPU \(f1(ms(on))) ms not within schedstat's \(f1(ms(inner)))–\(f1(ms(outer))) ms (±\(f1(ms(tol))))")
                #expect(t.times.onCPU + t.times.runnable == t.windowNs, "a spinner is on-CPU or runnable all its window")
            }
            let nappers = threads.filter { $0.comm == "napper" }
            #expect(nappers.count == 49 && nappers.allSatisfy { $0.switches > 0 && $0.times.sleep > 0 }, "the nappers' records see their switches after the move")
            let parkers = threads.filter { $0.comm == "parker" }
            #expect(parkers.count == 50 && parkers.allSatisfy { $0.times.sleep == $0.windowNs }, "a parker sleeps all its window")
        }

        /// -a: every task of the machine. Every process that lives through the trace is in the
        /// report (kernel threads too), and a spinner and a sleeper agree with their schedstat;
        /// the spinner is among the top threads by on-CPU time.
        @Test func allTracesEveryTask() throws {
            let spinner = try Workload("spinner")
            defer { spinner.stop() }
            let sleeper = try Workload("sleeper")
            defer { sleeper.stop() }
            // Processes born all the time, some between the programs' attach and the window's
            // start: none may have a record that starts before the window (the validator).
            let forker = try Spawn.spawn("/bin/sh", ["-c", "while :; do /bin/true; done"])
            defer {
                kill(forker, SIGKILL)
                _ = try? waitChild(forker)
            }
            var before = Set<Int32>()
            let run = try TracedRun.trace("all", [spinner, sleeper], target: .all, probe: { phase in
                if phase == .preStart { before = Set(ProcFS.allProcesses()) }
                if phase == .postStop { before.formIntersection(ProcFS.allProcesses()) }
            })
            run.expectSoundReport()
            let traced = Set(run.report.processes.filter { !$0.threads.isEmpty }.map(\.pid))
            let missing = before.subtracting(traced).filter { !ProcFS.hasExited($0) }
            print("[all] \(traced.count) processes traced, \(run.report.processes.reduce(0) { $0 + $1.threads.count }) threads; \(before.count) lived through the trace")
            // A process -p cannot trace either is not -a's to show (seen here: pid 1, the sandbox's
            // supervisor, which the task iterator does not list); any other is a miss.
            var untraceable = Set<Int32>()
            if !missing.isEmpty {
                var options = TraceOptions(pids: missing.sorted())
                options.userStacks = false
                options.kernelStacks = false
                let check = try TraceSession(options: options)
                try check.start()
                let seen = Set(try check.stop().processes.filter { !$0.threads.isEmpty }.map(\.pid))
                untraceable = missing.subtracting(seen)
                print("[all] not traced by -a: \(missing.sorted()); by -p either: \(untraceable.sorted())")
            }
            #expect(missing.subtracting(untraceable).isEmpty,
                    "processes alive all along, traced by -p but not by -a: \(missing.subtracting(untraceable).sorted())")
            #expect(traced.contains(2) || !before.contains(2), "kthreadd (kernel threads) traced")
            let spin = try run.thread(spinner, "spin")
            run.expectAgreesWithSchedstat(spin)
            let nsleep = try run.thread(sleeper, "nsleep")
            run.expectAgreesWithSchedstat(nsleep)
            #expect(nsleep.times.sleep > 0 && nsleep.wakeups > 100, "the sleeper sleeps, 1 ms at a time")
            let byOnCPU = run.report.processes.flatMap(\.threads).sorted { $0.times.onCPU > $1.times.onCPU }
            let rank = byOnCPU.firstIndex { $0.tid == spin.tid } ?? .max
            print("[all] top threads by on-CPU: " + byOnCPU.prefix(10).map { "\($0.comm)-\($0.tid) \(f1(ms($0.times.onCPU))) ms" }.joined(separator: ", "))
            #expect(rank < 10, "the spinner is thread #\(rank + 1) by on-CPU time")
        }

        /// --interval 1 --json -: a line a second, the intervals tiling the window, and each
        /// thread's deltas summed over the lines equal to its times in the whole-window report
        /// (the stream's last line) within 1 ms per state. The one expected difference: after
        /// the kernel's clocks are applied, sleep and blocked share the rest of the window in
        /// the tracepoints' proportions, which can shrink one by a few µs between looks; a
        /// delta is never negative, so such a shrink is not given back (IntervalDeltas).
        @Test func liveJSONLinesSumToTheReport() throws {
            let mutex = try Workload("mutex")
            defer { mutex.stop() }
            let sleeper = try Workload("sleeper")
            defer { sleeper.stop() }
            let bin = try swoffcpuBinary()
            let r = try ShellRun.run("'\(bin)' -p \(mutex.pid),\(sleeper.pid) --interval 1 --json - -d 4.5 --no-stacks")
            #expect(r.code == 0, "exit \(r.code): \(r.stderr.suffix(2000))")
            let lines = r.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            let intervals = lines.filter { $0["type"] as? String == "interval" }
            let report = try #require(lines.last { $0["type"] as? String == "report" }, "no report line: \(r.stdout.suffix(500))")
            #expect(lines.count == r.stdout.split(separator: "\n").count, "every line is one JSON object")
            #expect(intervals.count >= 4 && intervals.count <= 6, "\(intervals.count) interval lines in 4.5 s")
            #expect(intervals.last?["last"] as? Bool == true)
            func u(_ o: [String: Any], _ k: String) -> UInt64 { (o[k] as? NSNumber)?.uint64Value ?? 0 }
            // The intervals tile the window.
            #expect(u(intervals.first ?? [:], "start_ns") == u(report, "window_start_ns"))
            #expect(u(intervals.last ?? [:], "end_ns") == u(report, "window_end_ns"))
            for (a, b) in zip(intervals, intervals.dropFirst()) { #expect(u(a, "end_ns") == u(b, "start_ns")) }
            for i in intervals.dropLast() {
                let s = Double(u(i, "interval_ns")) / 1e9
                #expect(s > 0.5 && s < 2.0, "interval of \(s) s for --interval 1")
            }
            // Per thread life, the deltas' sums against the report.
            let keys = ["on_cpu_ns", "runnable_ns", "sleep_ns", "blocked_ns"]
            struct Life: Hashable { let tid: Int64; let start: UInt64 }
            var sums: [Life: [UInt64]] = [:]
            for i in intervals {
                for t in (i["threads"] as? [[String: Any]]) ?? [] {
                    let life = Life(tid: (t["tid"] as? NSNumber)?.int64Value ?? 0, start: u(t, "start_ns"))
                    var s = sums[life] ?? [0, 0, 0, 0]
                    for (n, k) in keys.enumerated() { s[n] += u(t, k) }
                    sums[life] = s
                }
            }
            var compared = 0, blocked: UInt64 = 0
            for p in (report["processes"] as? [[String: Any]]) ?? [] {
                for t in (p["threads"] as? [[String: Any]]) ?? [] {
                    let life = Life(tid: (t["tid"] as? NSNumber)?.int64Value ?? 0, start: u(t, "start_ns"))
                    let sum = try #require(sums[life], "thread \(life.tid) is in the report but in no interval line")
                    for (n, k) in keys.enumerated() {
                        let whole = u(t, k)
                        let diff = sum[n] > whole ? sum[n] - whole : whole - sum[n]
                        #expect(diff <= 1_000_000, "thread \(life.tid) \(k): intervals sum to \(sum[n]), report says \(whole)")
                    }
                    blocked += u(t, "blocked_ns")
                    compared += 1
                }
            }
            print("[live] \(intervals.count) intervals, \(compared) threads compared, blocked \(f1(ms(blocked))) ms in all")
            #expect(compared == mutex.tids.count + sleeper.tids.count, "every workload thread is in the report")
            #expect(blocked > 0, "the mutex workload blocks")
        }
    
        /// Ctrl-C during the live view: the stream gets its last (partial) interval and the report,
        /// and the files are written as usual.
        @Test func liveViewEndsOnCtrlC() throws {
            let sleeper = try Workload("sleeper")
            defer { sleeper.stop() }
            let bin = try swoffcpuBinary()
            let dir = NSTemporaryDirectory() + "/swoffcpu-live-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let r = try ShellRun.run("'\(bin)' -p \(sleeper.pid) --interval 0.5 --json - --folded '\(dir)/out.folded' -v"
                                     + " 2> '\(dir)/log' & p=$!; \(TraceWindow.shellWait(log: dir + "/log")) sleep 1.8; kill -INT $p; wait $p")
            #expect(r.code == 0, "exit \(r.code): \(((try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? "").suffix(1500))")
            let lines = r.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            let intervals = lines.filter { $0["type"] as? String == "interval" }
            #expect(intervals.count >= 3, "\(intervals.count) intervals of 0.5 s in 1.8 s")
            #expect(intervals.last?["last"] as? Bool == true)
            #expect(lines.last?["type"] as? String == "report", "the whole-window report ends the stream")
            #expect(FileManager.default.fileExists(atPath: dir + "/out.folded"), "--folded written after Ctrl-C")
        }

        /// On a terminal (a pseudo-terminal from `script`), frames are drawn in place on the
        /// alternate screen: cursor home, every line cleared to its end, the rest of the screen
        /// cleared — never a whole-screen clear — and the normal screen back before the report.
        @Test func liveViewRedrawsInPlace() throws {
            guard access("/usr/bin/script", X_OK) == 0 else {
                Issue.record("script(1) (util-linux, Debian's bsdutils) is needed for a pseudo-terminal")
                return
            }
            let sleeper = try Workload("sleeper")
            defer { sleeper.stop() }
            let bin = try swoffcpuBinary()
            let r = try ShellRun.run("/usr/bin/script -qec \"stty rows 30 cols 120; '\(bin)' -p \(sleeper.pid) --interval 0.3 -d 1.5 --no-stacks\" /dev/null")
            #expect(r.code == 0, "exit \(r.code): \(r.stdout.suffix(1000)) \(r.stderr.suffix(1000))")
            let out = r.stdout
            let esc = "\u{1b}"
            #expect(out.contains(esc + "[?1049h"), "alternate screen entered")
            let frames = out.components(separatedBy: esc + "[H").count - 1
            #expect(frames >= 3, "\(frames) frames drawn from the cursor's home")
            #expect(out.contains(esc + "[K") && out.contains(esc + "[J"))
            #expect(!out.contains(esc + "[2J"), "no whole-screen clear per frame")
            let leave = try #require(out.range(of: esc + "[?1049l"), "alternate screen left")
            #expect(out[leave.upperBound...].contains("window"), "the whole-window report follows on the normal screen")
            #expect(out[..<leave.lowerBound].contains("nsleep"), "the frames show the traced thread")
        }
    }
}
