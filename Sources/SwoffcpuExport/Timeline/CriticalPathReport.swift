import SwoffcpuCore
import SwoffcpuResolve

/// `--critical-path TID|COMM`: the critical path's entries as text and JSON, each with the
/// top stacks of that thread in that state (the trace's off-CPU stacks; for on-CPU time, the
/// stacks where the thread was preempted, the only on-CPU stacks a switch-out walk sees).
public struct CriticalPathReport: Sendable {
    public var path: CriticalPath
    public var names: TimelineNames
    public var stacks: SymbolizedStacks
    public var top: Int

    public init(path: CriticalPath, names: TimelineNames, stacks: SymbolizedStacks, top: Int = 12) {
        self.path = path
        self.names = names
        self.stacks = stacks
        self.top = top
    }

    func who(_ w: CriticalPath.Who) -> String {
        switch w {
        case .thread(let tid, _): names.thread(tid)
        case .untraced(let tid, let tgid): "\(names.thread(tid)) (not traced, pid \(tgid))"
        case .unknown: "[not in the timeline: dropped, or before the thread was traced]"
        }
    }

    func what(_ e: CriticalPath.Entry) -> String {
        guard let state = e.state else { return e.who == .unknown ? "" : "woke it (its own time not traced)" }
        if e.who.tid == path.target {
            return state.isOffCPU && state != .runnable ? "\(state.name) (no other thread ended it)" : state.name
        }
        return state.isOffCPU && state != .runnable ? "\(state.name) (not followed further)" : state.name
    }

    /// The top stacks of a thread in a state: user frames leaf first (kernel frames when no user stack).
    public func topStacks(tid: Int32, state: ThreadState, count: Int = 1) -> [(frames: [String], ns: UInt64)] {
        let wanted: ThreadState = state == .onCPU ? .runnable : state
        var merged: [Int64: (frames: [String], ns: UInt64)] = [:]
        for s in stacks.samples where s.tid == tid && s.state == wanted {
            let key = Int64(s.userStack) << 32 | Int64(s.kernelStack)
            if merged[key] == nil {
                var frames = stacks.table.names(s.userStack)
                if frames.isEmpty { frames = stacks.table.names(s.kernelStack).map { $0 + "_[k]" } }
                merged[key] = (frames, 0)
            }
            merged[key]!.ns += s.valueNs
        }
        return merged.values.sorted { $0.ns > $1.ns }.prefix(count).map { $0 }
    }

    public func renderText() -> String {
        var out = "Critical path of \(names.thread(path.target)): its \(DurationFormat.format(ns: path.windowNs)) of wall time, "
            + "its waits followed to the threads that ended them\n"
        let rows = path.entries.prefix(top)
        let whoW = max(6, rows.map { who($0.who).count }.max() ?? 6)
        let whatW = max(5, rows.map { what($0).count }.max() ?? 5)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        func lpad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        out += "  " + pad("thread", whoW) + "  " + pad("state", whatW) + "  " + lpad("time", 8) + "  " + lpad("share", 6) + "  link\n"
        for e in rows {
            out += "  " + pad(who(e.who), whoW) + "  " + pad(what(e), whatW) + "  "
                + lpad(DurationFormat.format(ns: e.ns), 8) + "  " + lpad(DurationFormat.percent(e.ns, of: path.windowNs), 6)
                + "  " + (e.depth == 0 ? "itself" : "\(e.depth)") + "\n"
            if let tid = e.who.tid, case .thread = e.who, let state = e.state,
               let stack = topStacks(tid: tid, state: state).first, !stack.frames.isEmpty {
                let label = state == .onCPU ? "preempted at" : "at"
                let frames = stack.frames.prefix(4).joined(separator: " ← ")
                out += "      \(label): \(frames)\(stack.frames.count > 4 ? " ← …" : "")\n"
            }
        }
        if path.entries.count > top { out += "  … \(path.entries.count - top) more (--json has them all)\n" }
        return out
    }

    public func jsonMembers() -> JSONObject {
        var o = JSONObject()
        o["tid"] = .int(Int64(path.target))
        o["thread"] = .string(names.thread(path.target))
        o["start_ns"] = .uint(path.startNs)
        o["end_ns"] = .uint(path.endNs)
        o["window_ns"] = .uint(path.windowNs)
        o["entries"] = .array(path.entries.map { e in
            var x = JSONObject()
            x["thread"] = .string(who(e.who))
            switch e.who {
            case .thread(let tid, let tgid):
                x["tid"] = .int(Int64(tid)); x["pid"] = .int(Int64(tgid)); x["traced"] = .bool(true)
            case .untraced(let tid, let tgid):
                x["tid"] = .int(Int64(tid)); x["pid"] = .int(Int64(tgid)); x["traced"] = .bool(false)
            case .unknown:
                x["tid"] = .null
            }
            x["state"] = e.state.map { .string($0.name) } ?? .null
            x["ns"] = .uint(e.ns)
            x["depth"] = .int(Int64(e.depth))
            if let tid = e.who.tid, case .thread = e.who, let state = e.state {
                x["stacks"] = .array(topStacks(tid: tid, state: state, count: 3).map { s in
                    .object(["frames": .array(s.frames.map { .string($0) }), "ns": .uint(s.ns)])
                })
            }
            return .object(x)
        })
        return ["critical_path": .object(o)]
    }
}
