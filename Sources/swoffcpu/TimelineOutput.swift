import SwoffcpuCore
import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuSystem

/// The timeline's outputs (docs/timeline.md): --timeline, --waits, --wait-graph,
/// --critical-path, and their members of --json.
struct TimelineOutput: Sendable {
    let options: TimelineOptions

    var paths: [String] { [options.timeline, options.waitGraph].compactMap { $0 } }

    /// The thread --critical-path names: a TID, or a thread name (the one with the most on-CPU
    /// time, if several threads have it).
    static func target(_ spec: String, in report: TraceReport) -> Int32? {
        let threads = report.processes.flatMap(\.threads)
        if let tid = Int32(spec) { return threads.contains { $0.tid == tid } ? tid : nil }
        return threads.filter { $0.comm == spec }.max { ($0.times.onCPU, $1.tid) < ($1.times.onCPU, $0.tid) }?.tid
    }

    /// What the text report gets: the waits, the critical path, and what the timeline dropped.
    func text(_ trace: ResolvedTrace, names: TimelineNames) -> String {
        guard let timeline = trace.report.timeline else { return "" }
        var out = ""
        if options.waits {
            out += "\n" + WaitsReport(graph: WaitGraph(timeline: timeline), names: names).renderText()
        }
        if let spec = options.criticalPath {
            if let tid = Self.target(spec, in: trace.report), let path = CriticalPath(target: tid, timeline: timeline) {
                out += "\n" + CriticalPathReport(path: path, names: names, stacks: trace.stacks).renderText()
            } else {
                out += "\nCritical path: no traced thread '\(spec)' with a timeline\n"
            }
        }
        return out
    }

    /// Said on stderr whatever the outputs: slices the timeline could not keep.
    static func dropNote(_ timeline: TimelineData?) -> String? {
        guard let t = timeline, t.droppedSlices > 0 else { return nil }
        return "swoffcpu: timeline: \(t.droppedSlices) slices dropped (\(DurationFormat.format(ns: t.droppedNs)) of thread time): "
            + "\(t.slices.count >= t.limit ? "--timeline-limit \(t.limit) reached" : "the ring buffer was full"); "
            + "the slices of those threads do not add up to the table\n"
    }

    func jsonMembers(_ trace: ResolvedTrace, names: TimelineNames) -> JSONObject {
        guard let timeline = trace.report.timeline else { return JSONObject() }
        var out = JSONObject()
        var summary = JSONObject()
        summary["slices"] = .uint(UInt64(timeline.slices.count))
        summary["dropped_slices"] = .uint(timeline.droppedSlices)
        summary["dropped_ns"] = .uint(timeline.droppedNs)
        summary["limit"] = .uint(UInt64(timeline.limit))
        // Per thread: what its slices add up to (equal to its tracepoint times when none was dropped).
        summary["thread_slice_totals"] = .array(timeline.totals().sorted { $0.key < $1.key }.map { tid, t in
            .object(["tid": .int(Int64(tid)), "on_cpu_ns": .uint(t.onCPU), "runnable_ns": .uint(t.runnable),
                     "sleep_ns": .uint(t.sleep), "sleep_uninterruptible_ns": .uint(t.sleepUninterruptible),
                     "blocked_ns": .uint(t.blocked)])
        })
        summary["thread_tracepoint_totals"] = .array(trace.report.processes.flatMap(\.threads).sorted { $0.tid < $1.tid }.map { r in
            let t = r.tracepointTimes ?? r.times
            return .object(["tid": .int(Int64(r.tid)), "on_cpu_ns": .uint(t.onCPU), "runnable_ns": .uint(t.runnable),
                            "sleep_ns": .uint(t.sleep), "sleep_uninterruptible_ns": .uint(t.sleepUninterruptible),
                            "blocked_ns": .uint(t.blocked)])
        })
        out["timeline"] = .object(summary)
        if options.waits || options.waitGraph != nil {
            for m in WaitsReport(graph: WaitGraph(timeline: timeline), names: names).jsonMembers().members { out[m.key] = m.value }
        }
        if let spec = options.criticalPath, let tid = Self.target(spec, in: trace.report),
           let path = CriticalPath(target: tid, timeline: timeline) {
            for m in CriticalPathReport(path: path, names: names, stacks: trace.stacks).jsonMembers().members { out[m.key] = m.value }
        }
        return out
    }

    /// The files: the Perfetto timeline, the wait graph.
    func writeFiles(_ trace: ResolvedTrace, names: TimelineNames) throws {
        guard let timeline = trace.report.timeline else { return }
        if let path = options.timeline {
            try Log.timed("report: timeline written") {
                let writer = PerfettoTimeline(report: trace.report, names: names)
                try AtomicFile.write(to: path) { write in try writer.write(timeline, to: write) }
            }
        }
        if let path = options.waitGraph {
            let render = WaitGraphRender(report: WaitsReport(graph: WaitGraph(timeline: timeline), names: names))
            let text = path.hasSuffix(".dot") || path.hasSuffix(".gv")
                ? render.dot() : render.svg(title: "Who waits on whom: \(trace.targetDescription)")
            try AtomicFile.write(text, to: path)
        }
    }
}
