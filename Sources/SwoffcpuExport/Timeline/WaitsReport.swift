import SwoffcpuCore

/// `--waits`: the wait-for graph's edges and knots as text, and the same as JSON members.
public struct WaitsReport: Sendable {
    public var graph: WaitGraph
    public var names: TimelineNames
    public var knots: [WaitGraph.Knot]
    public var top: Int

    public init(graph: WaitGraph, names: TimelineNames, top: Int = 15) {
        self.graph = graph
        self.names = names
        self.knots = graph.knots()
        self.top = top
    }

    func label(_ n: WaitGraph.Node) -> String { names.node(n, traced: graph.traced) }

    func channels(_ e: WaitGraph.Edge, max: Int = 2) -> String {
        e.channels.prefix(max).map { names.channel($0.channel) }.joined(separator: ", ")
            + (e.channels.count > max ? ", …" : "")
    }

    public func renderText() -> String {
        var out = "Who waits on whom: each wait of a traced thread, charged to the thread that ended it\n"
        if graph.edges.isEmpty {
            out += "  no wait of a traced thread was ended by another thread\n"
            return out
        }
        let rows = graph.edges.prefix(top).map { e in
            [label(e.waiter), label(e.waker), DurationFormat.format(ns: e.ns), String(e.waits), channels(e)]
        }
        let header = ["waiter", "waited on (woken by)", "wait", "waits", "on"]
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            "  " + cells.enumerated().map { i, c in
                i == 2 || i == 3 ? String(repeating: " ", count: widths[i] - c.count) + c
                    : c + String(repeating: " ", count: i == cells.count - 1 ? 0 : widths[i] - c.count)
            }.joined(separator: "  ") + "\n"
        }
        out += line(header)
        for r in rows { out += line(r) }
        if graph.edges.count > top { out += "  … \(graph.edges.count - top) more edges (--json has them all)\n" }
        let unwoken = graph.unwokenNs.values.reduce(0, +)
        if unwoken > 0 {
            out += "  Waits no other thread ended (still waiting at the end, or the wakeup not seen): \(DurationFormat.format(ns: unwoken))\n"
        }
        out += "\nKnots (wPerf): groups of threads that mostly wait on each other and that others wait on; the bottom first\n"
        if knots.isEmpty { out += "  none\n" }
        for (i, k) in knots.prefix(top).enumerated() {
            let members = k.members.map(label).joined(separator: ", ")
            out += "  \(i + 1). bottom: \(label(k.bottom))"
            if let lock = k.lock { out += ", lock: \(names.channel(lock))" }
            out += "\n     waited on \(DurationFormat.format(ns: k.waitedOnNs)) by threads outside it"
            if k.members.count > 1 {
                out += "; members: \(members); they wait on each other \(DurationFormat.format(ns: k.internalNs))"
                    + " (\(DurationFormat.percent(k.internalNs, of: k.membersWaitNs)) of their woken waits)"
            } else {
                out += "; it waits on others \(DurationFormat.format(ns: k.membersWaitNs))"
            }
            out += "\n"
        }
        return out
    }

    public func jsonMembers() -> JSONObject {
        func node(_ n: WaitGraph.Node, _ prefix: String, into o: inout JSONObject) {
            o[prefix] = .string(label(n))
            if case .thread(let tid, let tgid) = n {
                o[prefix + "_tid"] = .int(Int64(tid))
                o[prefix + "_pid"] = .int(Int64(tgid))
                o[prefix + "_traced"] = .bool(graph.traced.contains(tid))
            } else {
                o[prefix + "_tid"] = .null
            }
        }
        let edges: [JSONValue] = graph.edges.map { e in
            var o = JSONObject()
            node(e.waiter, "waiter", into: &o)
            node(e.waker, "waker", into: &o)
            o["wait_ns"] = .uint(e.ns)
            o["waits"] = .uint(e.waits)
            o["channels"] = .array(e.channels.map { c in
                .object(["channel": .string(names.channel(c.channel)), "state": .string(c.channel.state.name),
                         "wait_ns": .uint(c.ns)])
            })
            return .object(o)
        }
        let knotValues: [JSONValue] = knots.map { k in
            var o = JSONObject()
            node(k.bottom, "bottom", into: &o)
            o["lock"] = k.lock.map { .string(names.channel($0)) } ?? .null
            o["members"] = .array(k.members.map { .string(label($0)) })
            o["member_tids"] = .array(k.members.compactMap { $0.tid.map { .int(Int64($0)) } })
            o["waited_on_ns"] = .uint(k.waitedOnNs)
            o["internal_wait_ns"] = .uint(k.internalNs)
            o["members_wait_ns"] = .uint(k.membersWaitNs)
            return .object(o)
        }
        var waits = JSONObject()
        waits["edges"] = .array(edges)
        waits["knots"] = .array(knotValues)
        waits["unwoken_wait_ns"] = .uint(graph.unwokenNs.values.reduce(0, +))
        return ["waits": .object(waits)]
    }
}
