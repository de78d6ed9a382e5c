import SwoffcpuCore

/// `--timeline FILE`: the timeline as Chrome trace-event JSON, which ui.perfetto.dev (and
/// chrome://tracing) opens. One process group per traced process, one track per thread,
/// named; one complete (`X`) slice per state interval, named by its state and, for a wait,
/// its channel (`blocked: mutex g_lock`, `sleep: read`), with the channel and the waker in
/// `args`; a flow arrow from the waking thread to the woken one at each wakeup whose waker
/// was traced. Timestamps are µs from the window start, to the ns. docs/timeline.md.
public struct PerfettoTimeline: Sendable {
    public var names: TimelineNames
    public var windowStartNs: UInt64
    /// Per-thread totals: the tracepoint times and the table's, written in `otherData`.
    public var report: TraceReport

    public init(report: TraceReport, names: TimelineNames) {
        self.report = report
        self.names = names
        windowStartNs = report.windowStartNs
    }

    public func write(_ timeline: TimelineData, to body: ([UInt8]) throws -> Void) throws {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        func flush(force: Bool = false) throws {
            if force || out.count >= 1 << 20 {
                try body(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        func str(_ s: String) { out.append(contentsOf: s.utf8) }
        func jstr(_ s: String) { JSONValue.writeString(s, to: &out) }
        func num(_ v: Int64) { str(String(v)) }
        // µs with three decimals, from ns relative to the window start.
        func us(_ ns: UInt64) {
            let rel = ns >= windowStartNs ? ns - windowStartNs : 0
            str(String(rel / 1000))
            let frac = rel % 1000
            if frac != 0 {
                out.append(UInt8(ascii: "."))
                let f = String(frac)
                str(String(repeating: "0", count: 3 - f.count) + f)
            }
        }
        func dur(_ ns: UInt64) {
            str(String(ns / 1000))
            let frac = ns % 1000
            if frac != 0 {
                out.append(UInt8(ascii: "."))
                let f = String(frac)
                str(String(repeating: "0", count: 3 - f.count) + f)
            }
        }

        str("{\"displayTimeUnit\":\"ns\",\"otherData\":{")
        str("\"generator\":\"swoffcpu\",\"window_start_ns\":"); str(String(report.windowStartNs))
        str(",\"window_end_ns\":"); str(String(report.windowEndNs))
        str(",\"slices\":"); str(String(timeline.slices.count))
        str(",\"dropped_slices\":"); str(String(timeline.droppedSlices))
        str(",\"dropped_ns\":"); str(String(timeline.droppedNs))
        str(",\"timeline_limit\":"); str(String(timeline.limit))
        str("},\"traceEvents\":[\n")
        var first = true
        func sep() {
            if first { first = false } else { str(",\n") }
        }
        // Names and order: processes, then their threads.
        var tracedThreads = Set<Int32>()
        for p in report.processes {
            sep()
            str("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":"); num(Int64(p.pid)); str(",\"tid\":"); num(Int64(p.pid))
            str(",\"args\":{\"name\":"); jstr("\(p.comm) (pid \(p.pid))"); str("}}")
            for t in p.threads {
                tracedThreads.insert(t.tid)
                sep()
                str("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":"); num(Int64(t.tgid)); str(",\"tid\":"); num(Int64(t.tid))
                str(",\"args\":{\"name\":"); jstr("\(t.comm)-\(t.tid)"); str("}}")
            }
        }
        var flowID: Int64 = 0
        for s in timeline.slices {
            sep()
            var name = s.state.name
            if s.isWait { name += ": " + names.channel(of: s) }
            str("{\"ph\":\"X\",\"cat\":\"state\",\"name\":"); jstr(name)
            str(",\"pid\":"); num(Int64(s.tgid)); str(",\"tid\":"); num(Int64(s.tid))
            str(",\"ts\":"); us(s.startNs); str(",\"dur\":"); dur(s.durationNs)
            str(",\"args\":{\"state\":"); jstr(s.state.name)
            if s.isWait {
                if s.channelIsSyscall {
                    str(",\"syscall\":"); jstr(SyscallNames.name(s.channel))
                } else if s.state == .blocked {
                    str(",\"futex\":"); jstr("0x" + String(s.channel, radix: 16))
                    if let l = names.locks[.init(tgid: s.tgid, uaddr: s.channel)] {
                        str(",\"lock\":"); jstr(l.name); str(",\"lock_kind\":"); jstr(l.kind)
                    }
                }
                if let w = s.waker {
                    switch w.context {
                    case .hardirq: str(",\"woken_by\":\"[interrupt]\"")
                    case .thread, .softirq:
                        str(",\"woken_by\":"); jstr(names.thread(w.tid) + (w.context == .softirq ? " (softirq)" : ""))
                        str(",\"waker_tid\":"); num(Int64(w.tid)); str(",\"waker_pid\":"); num(Int64(w.tgid))
                    }
                } else {
                    str(",\"woken_by\":null")
                }
            }
            str("}}")
            // The wakeup's arrow: from the waker's track to the woken thread's, at the wakeup.
            if let w = s.waker, w.context != .hardirq, tracedThreads.contains(w.tid), w.tid != s.tid {
                flowID += 1
                sep()
                str("{\"ph\":\"s\",\"cat\":\"wakeup\",\"name\":\"wakeup\",\"id\":"); num(flowID)
                str(",\"pid\":"); num(Int64(w.tgid)); str(",\"tid\":"); num(Int64(w.tid)); str(",\"ts\":"); us(s.endNs); str("}")
                sep()
                // No "bp": "e": the end binds to the next slice that begins on the woken thread's
                // track, its runnable slice starting at the wakeup (not the wait ending there).
                str("{\"ph\":\"f\",\"cat\":\"wakeup\",\"name\":\"wakeup\",\"id\":"); num(flowID)
                str(",\"pid\":"); num(Int64(s.tgid)); str(",\"tid\":"); num(Int64(s.tid)); str(",\"ts\":"); us(s.endNs); str("}")
            }
            try flush()
        }
        str("\n]}\n")
        try flush(force: true)
    }
}
