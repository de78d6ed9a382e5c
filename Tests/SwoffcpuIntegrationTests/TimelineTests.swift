import Foundation
import SwoffcpuBPF
import SwoffcpuCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

// The timeline, the wait-for graph and the critical path against workloads whose waits are
// known by construction (Workloads/pipeline.c, convoy.c, pipefeed.c; docs/timeline.md).
// Through the built `swoffcpu` binary (lock names need its symbolizer), and in-process for
// the slices against the kernel's clocks.

/// One `swoffcpu` run with the timeline's outputs in a directory of their own.
private struct TimelineRun {
    var stdout: String
    var stderr: String
    var json: [String: Any]
    var perfetto: [String: Any]
    var graph: String

    static func run(pids: [Int32], seconds: Double = 2.5, graph: String = "g.svg", extra: [String] = []) throws -> TimelineRun {
        let dir = NSTemporaryDirectory() + "/swoffcpu-timeline-\(getpid())-\(pids[0])"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidList = pids.map(String.init).joined(separator: ",")
        let r = try ShellRun.run("'\(try swoffcpuBinary())' -p \(pidList) -d \(seconds) --waits --json '\(dir)/r.json' "
                                 + "--timeline '\(dir)/t.json' --wait-graph '\(dir)/\(graph)' \(extra.joined(separator: " "))")
        guard r.code == 0 else { throw Procfs.Failure(description: "swoffcpu exited with \(r.code): \(r.stderr)") }
        func object(_ path: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(try Procfs.read(path))) as? [String: Any] ?? [:]
        }
        return TimelineRun(stdout: r.stdout, stderr: r.stderr, json: try object(dir + "/r.json"),
                           perfetto: try object(dir + "/t.json"), graph: try Procfs.readString(dir + "/" + graph))
    }

    var waits: [String: Any] { json["waits"] as? [String: Any] ?? [:] }
    var edges: [[String: Any]] { waits["edges"] as? [[String: Any]] ?? [] }
    var knots: [[String: Any]] { waits["knots"] as? [[String: Any]] ?? [] }
    var criticalPath: [String: Any] { json["critical_path"] as? [String: Any] ?? [:] }
    var pathEntries: [[String: Any]] { criticalPath["entries"] as? [[String: Any]] ?? [] }

    func edge(_ waiter: Int32, _ waker: Int32) -> [String: Any]? {
        edges.first { i32($0["waiter_tid"]) == waiter && i32($0["waker_tid"]) == waker }
    }

    /// The critical path's time for thread `tid` in `state`.
    func path(_ tid: Int32, _ state: String) -> UInt64 {
        pathEntries.filter { i32($0["tid"]) == tid && ($0["state"] as? String) == state }.reduce(0) { $0 + u64($1["ns"]) }
    }

    /// The report's table row of a thread.
    func thread(_ tid: Int32) -> [String: Any]? {
        (json["processes"] as? [[String: Any]] ?? []).flatMap { $0["threads"] as? [[String: Any]] ?? [] }
            .first { i32($0["tid"]) == tid }
    }

    /// Per (tid, state): the Perfetto file's slices summed, in ns (µs with three decimals).
    var perfettoTotals: [Int32: [String: UInt64]] {
        var out: [Int32: [String: UInt64]] = [:]
        for e in perfetto["traceEvents"] as? [[String: Any]] ?? [] where (e["ph"] as? String) == "X" {
            let ns = UInt64(((e["dur"] as? NSNumber)?.doubleValue ?? 0) * 1000 + 0.5)
            let state = (e["args"] as? [String: Any])?["state"] as? String ?? "?"
            out[i32(e["tid"]), default: [:]][state, default: 0] += ns
        }
        return out
    }
}

private func i32(_ v: Any?) -> Int32 { (v as? NSNumber)?.int32Value ?? -1 }
private func u64(_ v: Any?) -> UInt64 { (v as? NSNumber)?.uint64Value ?? 0 }

/// A thread's tracepoint totals from the report's `timeline` member, by the Perfetto file's state names.
private func tracepointTotals(_ json: [String: Any], key: String = "thread_tracepoint_totals") -> [Int32: [String: UInt64]] {
    var out: [Int32: [String: UInt64]] = [:]
    for t in (json["timeline"] as? [String: Any])?[key] as? [[String: Any]] ?? [] {
        out[i32(t["tid"])] = ["on-cpu": u64(t["on_cpu_ns"]), "runnable": u64(t["runnable_ns"]),
                              "sleep": u64(t["sleep_ns"]) - u64(t["sleep_uninterruptible_ns"]),
                              "sleep-d": u64(t["sleep_uninterruptible_ns"]), "blocked": u64(t["blocked_ns"])]
            .filter { $0.value > 0 }
    }
    return out
}

extension IntegrationTests {
    @Suite("Timeline", .enabled(if: geteuid() == 0, "runs swoffcpu, which loads BPF programs: run as root"))
    struct Timeline {
        /// The done criterion. Construction (Workloads/pipeline.c): the sink waits for items only
        /// the slow stage makes; while it waits, the slow stage burns CPU (500 µs an item, 25
        /// times the other stages), or waits for a CPU. So the sink's critical path is the slow
        /// stage's running and runnable time for nearly all its woken waits (at least 70 %: the
        /// rest is the slow stage's own short waits for room in the second queue, which lead
        /// back to the sink, and the edges of the window), and the slow stage's on-CPU share of
        /// it is its on-CPU share of its running time (half of that at least: no fixed share,
        /// the machine's load decides how much it runs). The wait-for graph's first knot is the
        /// slow stage, waited on by both other stages. The timeline's slices add up to each
        /// thread's tracepoint times, to the ns, in both the Perfetto file and the report.
        @Test func pipelineCriticalPathAndKnotNameTheSlowStage() throws {
            let w = try Workload("pipeline")
            defer { w.stop() }
            let src = try w.tid("stage-src"), slow = try w.tid("stage-slow"), sink = try w.tid("stage-sink")
            usleep(200_000)
            let run = try TimelineRun.run(pids: [w.pid], extra: ["--critical-path", "stage-sink"])

            // Who waits on whom.
            let sinkWait = u64(try #require(run.edge(sink, slow), "sink -> slow edge: \(run.edges)")["wait_ns"])
            #expect(run.edge(src, slow) != nil, "src waits for room that only slow makes")
            let knot = try #require(run.knots.first, "knots: \(run.waits)")
            #expect(i32(knot["bottom_tid"]) == slow, "the first knot's bottom: \(knot)")
            #expect(run.stdout.contains("bottom: stage-slow-\(slow)"))
            #expect(run.graph.hasPrefix("<?xml") && run.graph.contains("stage-slow-\(slow)") && run.graph.contains("knot bottom"))

            // The critical path of the sink.
            #expect(i32(run.criticalPath["tid"]) == sink)
            let onCPU = run.path(slow, "on-cpu"), runnable = run.path(slow, "runnable")
            let slowRow = try #require(run.thread(slow))
            let share = Double(u64(slowRow["on_cpu_ns"])) / Double(max(1, u64(slowRow["on_cpu_ns"]) + u64(slowRow["runnable_ns"])))
            print("pipeline: sink waited \(sinkWait) ns on slow; critical path: slow on-CPU \(onCPU) ns, runnable \(runnable) ns; slow on-CPU share of its running time \(share)")
            #expect(Double(onCPU + runnable) >= 0.7 * Double(sinkWait))
            #expect(Double(onCPU) >= 0.5 * share * Double(sinkWait))
            let others = run.pathEntries.filter { i32($0["tid"]) != sink && i32($0["tid"]) != slow }
            #expect(others.allSatisfy { u64($0["ns"]) < onCPU + runnable }, "\(others)")
            #expect(run.stdout.contains("Critical path of stage-sink-\(sink)"))

            // The slices add up: in the report, and in the Perfetto file.
            let tl = try #require(run.json["timeline"] as? [String: Any])
            #expect(u64(tl["dropped_slices"]) == 0)
            let truth = tracepointTotals(run.json)
            #expect(tracepointTotals(run.json, key: "thread_slice_totals") == truth)
            for tid in [src, slow, sink] {
                #expect(run.perfettoTotals[tid] == truth[tid], "tid \(tid)")
            }
            // Named tracks, and the wakeups' arrows from the slow stage to the sink.
            let events = run.perfetto["traceEvents"] as? [[String: Any]] ?? []
            #expect(events.contains { ($0["name"] as? String) == "thread_name" && i32($0["tid"]) == slow
                    && (($0["args"] as? [String: Any])?["name"] as? String) == "stage-slow-\(slow)" })
            let starts = Set(events.filter { ($0["ph"] as? String) == "s" && i32($0["tid"]) == slow }.map { u64($0["id"]) })
            let ends = events.filter { ($0["ph"] as? String) == "f" && i32($0["tid"]) == sink }.map { u64($0["id"]) }
            #expect(!ends.isEmpty && ends.allSatisfy(starts.contains))
            #expect(events.contains { ($0["ph"] as? String) == "X" && i32($0["tid"]) == sink
                    && (($0["name"] as? String) ?? "").hasPrefix("blocked: condvar q2") })
        }

        /// Construction (Workloads/convoy.c): two threads on CPUs of their own take turns at one
        /// mutex, each holding it 20 times longer than it stays out. Each waits on the other, on
        /// that mutex: one knot of both, the mutex at its bottom. The DOT graph puts the mutex
        /// between them.
        @Test func convoyIsAKnotOfTwoOnOneMutex() throws {
            let w = try Workload("convoy")
            defer { w.stop() }
            let a = try w.tid("convoy-a"), b = try w.tid("convoy-b")
            usleep(200_000)
            let run = try TimelineRun.run(pids: [w.pid], seconds: 2, graph: "g.dot")
            for (x, y) in [(a, b), (b, a)] {
                let e = try #require(run.edge(x, y), "\(x) -> \(y): \(run.edges)")
                let channels = e["channels"] as? [[String: Any]] ?? []
                #expect((channels.first?["channel"] as? String) == "mutex convoy_lock", "\(channels)")
            }
            let knot = try #require(run.knots.first, "knots: \(run.waits)")
            #expect(Set((knot["member_tids"] as? [Any] ?? []).map(i32)) == [a, b])
            #expect((knot["lock"] as? String) == "mutex convoy_lock")
            #expect(run.graph.hasPrefix("digraph") && run.graph.contains("mutex convoy_lock")
                    && run.graph.contains("convoy-a-\(a)") && run.graph.contains("released by"))
        }

        /// Construction (Workloads/pipefeed.c): a reader thread sleeps in read() on a pipe that
        /// another process writes once per millisecond of its CPU. Traced as `-p A,B`: the reader's
        /// waits are ended by the feeder, across processes; the feeder is the knot; the reader's
        /// critical path is the feeder's running and runnable time.
        @Test func pipeFedByAnotherProcess() throws {
            let w = try Workload("pipefeed")
            defer { w.stop() }
            let reader = try w.tid("pipe-reader")
            // A process of its own, not a thread of the workload's: by its `tid` line.
            let feeder = try #require(w.tids["pipe-feeder"])
            usleep(200_000)
            let run = try TimelineRun.run(pids: [w.pid, feeder], seconds: 2, extra: ["--critical-path", "\(reader)"])
            let e = try #require(run.edge(reader, feeder), "\(run.edges)")
            #expect(i32(e["waker_pid"]) == feeder && i32(e["waiter_pid"]) == w.pid)
            #expect(((e["channels"] as? [[String: Any]])?.first?["channel"] as? String) == "read")
            #expect(i32(run.knots.first?["bottom_tid"]) == feeder)
            let wait = u64(e["wait_ns"])
            let feederTime = run.path(feeder, "on-cpu") + run.path(feeder, "runnable")
            #expect(Double(feederTime) >= 0.7 * Double(wait), "feeder \(feederTime) of the reader's \(wait)")
        }

        /// --timeline-limit: the slices past it are dropped, counted, and said.
        @Test func limitDropsAreCountedAndSaid() throws {
            let w = try Workload("pipeline")
            defer { w.stop() }
            let run = try TimelineRun.run(pids: [w.pid], seconds: 1, extra: ["--timeline-limit", "100"])
            let tl = try #require(run.json["timeline"] as? [String: Any])
            #expect(u64(tl["slices"]) == 100)
            #expect(u64(tl["dropped_slices"]) > 0 && u64(tl["dropped_ns"]) > 0)
            #expect(run.stderr.contains("slices dropped"), "\(run.stderr)")
            let other = run.perfetto["otherData"] as? [String: Any] ?? [:]
            #expect(u64(other["dropped_slices"]) == u64(tl["dropped_slices"]))
        }

        /// In-process: each thread's slices add up to its record's tracepoint times exactly, and,
        /// reconciled with the kernel's clocks as the table is, to the table's states.
        @Test func slicesAddUpToTheTable() throws {
            let w = try Workload("pipeline")
            defer { w.stop() }
            var options = TraceOptions(pids: [w.pid])
            options.timeline = true
            let session = try TraceSession(options: options)
            try session.start()
            for _ in 0..<15 { usleep(100_000); session.poll() }
            let report = try session.stop()
            let timeline = try #require(report.timeline)
            #expect(timeline.droppedSlices == 0)
            let totals = timeline.totals()
            let threads = report.processes.flatMap(\.threads)
            #expect(threads.count == 4)
            for r in threads {
                let slices = try #require(totals[r.tid], "tid \(r.tid)")
                #expect(slices == (r.tracepointTimes ?? r.times), "tid \(r.tid)")
                var rebuilt = r
                rebuilt.times = slices
                rebuilt.reconcileWithKernelClocks()
                #expect(rebuilt.times == r.times, "tid \(r.tid): the table from the slices")
            }
        }
    }
}
