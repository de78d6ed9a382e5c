import SwoffcpuCore

/// `--wait-graph FILE.dot|FILE.svg`: the wait-for graph drawn. DOT for Graphviz (threads as
/// boxes, locks as ellipses between a lock's waiters and its releasers); SVG drawn here,
/// without external tools: threads only (the lock on the edge's label), in layers — the
/// knots' members at the bottom, each thread above what it waits on.
public struct WaitGraphRender: Sendable {
    public var report: WaitsReport
    /// Edges below this share of the heaviest one are left out of the drawing.
    public var minShare: Double = 0.01

    public init(report: WaitsReport) { self.report = report }

    var graph: WaitGraph { report.graph }

    var drawnEdges: [WaitGraph.Edge] {
        let heaviest = graph.edges.first?.ns ?? 0
        return graph.edges.filter { Double($0.ns) >= minShare * Double(heaviest) && $0.ns > 0 }
    }

    var bottoms: Set<WaitGraph.Node> { Set(report.knots.map(\.bottom)) }

    static func dotEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    func id(_ n: WaitGraph.Node) -> String {
        switch n {
        case .interrupt: "irq"
        case .thread(let tid, _): "t\(tid)"
        }
    }

    public func dot() -> String {
        var out = "digraph waits {\n  rankdir=BT;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
        out += "  edge [fontname=\"Helvetica\", fontsize=10];\n"
        out += "  label=\"Who waits on whom: an edge goes from a waiter to the thread that ended its waits (swoffcpu --wait-graph)\";\n"
        let edges = drawnEdges
        let knotMembers = Set(report.knots.flatMap(\.members))
        var nodes = Set<WaitGraph.Node>()
        for e in edges { nodes.insert(e.waiter); nodes.insert(e.waker) }
        let heaviest = Double(edges.first?.ns ?? 1)
        for n in nodes.sorted() {
            var attrs = "label=\"\(Self.dotEscape(report.label(n)))\""
            if bottoms.contains(n) { attrs += ", color=red, penwidth=3, xlabel=\"knot bottom\"" }
            else if knotMembers.contains(n) { attrs += ", color=red" }
            if n == .interrupt || (n.tid.map { !graph.traced.contains($0) } ?? false) { attrs += ", style=\"rounded,dashed\"" }
            out += "  \(id(n)) [\(attrs)];\n"
        }
        var lockNodes: [String: String] = [:]
        for e in edges {
            let width = 1 + 4 * Double(e.ns) / heaviest
            let pen = String(Int(width * 10) / 10) + "." + String(Int(width * 10) % 10)
            if let top = e.channels.first, top.channel.isLock, top.ns * 2 >= e.ns {
                let key = "l\(top.channel.tgid)_\(String(top.channel.value, radix: 16))"
                if lockNodes[key] == nil {
                    lockNodes[key] = report.names.channel(top.channel)
                    out += "  \(key) [shape=ellipse, style=solid, label=\"\(Self.dotEscape(lockNodes[key]!))\"];\n"
                }
                out += "  \(id(e.waiter)) -> \(key) [label=\"\(DurationFormat.format(ns: e.ns))\", penwidth=\(pen)];\n"
                out += "  \(key) -> \(id(e.waker)) [label=\"released by\", penwidth=\(pen)];\n"
            } else {
                let label = DurationFormat.format(ns: e.ns) + "\n" + report.channels(e)
                out += "  \(id(e.waiter)) -> \(id(e.waker)) [label=\"\(Self.dotEscape(label))\", penwidth=\(pen)];\n"
            }
        }
        out += "}\n"
        return out
    }

    static func xml(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Layers: knot members at 0, each other node one above the lowest thing it waits on
    /// (breadth-first over the edges reversed); nodes that reach no knot go on top.
    func layers(_ nodes: [WaitGraph.Node], _ edges: [WaitGraph.Edge]) -> [WaitGraph.Node: Int] {
        var layer: [WaitGraph.Node: Int] = [:]
        var queue: [WaitGraph.Node] = []
        for k in report.knots { for m in k.members where nodes.contains(m) && layer[m] == nil { layer[m] = 0; queue.append(m) } }
        var i = 0
        while i < queue.count {
            let n = queue[i]; i += 1
            for e in edges where e.waker == n && layer[e.waiter] == nil {
                layer[e.waiter] = layer[n]! + 1
                queue.append(e.waiter)
            }
        }
        let top = (layer.values.max() ?? -1) + 1
        for n in nodes where layer[n] == nil { layer[n] = n == .interrupt ? 0 : top }
        return layer
    }

    public func svg(title: String) -> String {
        let edges = drawnEdges
        var nodeSet = Set<WaitGraph.Node>()
        for e in edges { nodeSet.insert(e.waiter); nodeSet.insert(e.waker) }
        let nodes = nodeSet.sorted()
        let layer = layers(nodes, edges)
        let maxLayer = layer.values.max() ?? 0
        var rows: [[WaitGraph.Node]] = Array(repeating: [], count: maxLayer + 1)
        for n in nodes { rows[layer[n]!].append(n) }
        for r in rows.indices { rows[r].sort { (graph.waitedOnNs($0), $1) > (graph.waitedOnNs($1), $0) } }
        let boxW = 190.0, boxH = 40.0, gapX = 60.0, rowH = 150.0, margin = 40.0
        let widest = rows.map(\.count).max() ?? 1
        let width = max(800.0, Double(widest) * (boxW + gapX) + 2 * margin)
        let height = Double(maxLayer + 1) * rowH + 2 * margin + 60
        var pos: [WaitGraph.Node: (x: Double, y: Double)] = [:]
        for (r, row) in rows.enumerated() {
            let y = height - margin - Double(r) * rowH - boxH
            let total = Double(row.count) * boxW + Double(max(0, row.count - 1)) * gapX
            var x = (width - total) / 2
            for n in row { pos[n] = (x, y); x += boxW + gapX }
        }
        func f(_ v: Double) -> String { String(Int(v.rounded())) }
        let heaviest = Double(edges.first?.ns ?? 1)
        var out = "<?xml version=\"1.0\" standalone=\"no\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
        out += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">\(Self.xml(title))</text>\n"
        out += "<text x=\"\(f(width / 2))\" y=\"44\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555\">an arrow goes from a waiter to the thread that ended its waits; knot bottoms in red, at the bottom</text>\n"
        for e in edges {
            guard let a = pos[e.waiter], let b = pos[e.waker] else { continue }
            let x1 = a.x + boxW / 2, y1 = a.y + (b.y > a.y ? boxH : b.y < a.y ? 0 : boxH / 2)
            let x2 = b.x + boxW / 2, y2 = b.y + (b.y > a.y ? 0 : b.y < a.y ? boxH : boxH / 2)
            // A curve, bent to one side so that edges both ways between two nodes stay apart.
            let mx = (x1 + x2) / 2 + (y1 == y2 ? 0 : 40), my = (y1 + y2) / 2 - (y1 == y2 ? 50 : 0)
            let w = 1 + 5 * Double(e.ns) / heaviest
            out += "<g><title>\(Self.xml("\(report.label(e.waiter)) waited \(DurationFormat.format(ns: e.ns)) on \(report.label(e.waker)) (\(e.waits) waits): \(report.channels(e, max: 5))"))</title>"
            out += "<path d=\"M \(f(x1)) \(f(y1)) Q \(f(mx)) \(f(my)) \(f(x2)) \(f(y2))\" fill=\"none\" stroke=\"#555\" stroke-opacity=\"0.7\" stroke-width=\"\(f(w))\" marker-end=\"url(#arrow)\"/>"
            let lx = (x1 + 2 * mx + x2) / 4, ly = (y1 + 2 * my + y2) / 4
            out += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" font-size=\"10\" text-anchor=\"middle\">\(Self.xml(DurationFormat.format(ns: e.ns)))</text>"
            out += "<text x=\"\(f(lx))\" y=\"\(f(ly + 12))\" font-size=\"9\" fill=\"#666\" text-anchor=\"middle\">\(Self.xml(String(report.channels(e, max: 1).prefix(40))))</text></g>\n"
        }
        let bottoms = self.bottoms
        for n in nodes {
            let p = pos[n]!
            let bottom = bottoms.contains(n)
            let untraced = n == .interrupt || (n.tid.map { !graph.traced.contains($0) } ?? false)
            let label = report.label(n)
            out += "<g><title>\(Self.xml(label + (bottom ? " — knot bottom" : "") + ": others waited on it \(DurationFormat.format(ns: graph.waitedOnNs(n)))"))</title>"
            out += "<rect x=\"\(f(p.x))\" y=\"\(f(p.y))\" width=\"\(f(boxW))\" height=\"\(f(boxH))\" rx=\"8\" fill=\"\(bottom ? "#fdd" : "#eef")\" stroke=\"\(bottom ? "#c00" : "#446")\" stroke-width=\"\(bottom ? 3 : 1)\"\(untraced ? " stroke-dasharray=\"4 3\"" : "")/>"
            out += "<text x=\"\(f(p.x + boxW / 2))\" y=\"\(f(p.y + 17))\" font-size=\"12\" text-anchor=\"middle\">\(Self.xml(String(label.prefix(28))))</text>"
            out += "<text x=\"\(f(p.x + boxW / 2))\" y=\"\(f(p.y + 32))\" font-size=\"10\" fill=\"#555\" text-anchor=\"middle\">\(bottom ? "knot bottom · " : "")waited on \(Self.xml(DurationFormat.format(ns: graph.waitedOnNs(n))))</text></g>\n"
        }
        out += "</svg>\n"
        return out
    }
}
