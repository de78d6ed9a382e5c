import SwoffcpuCore

/// The merged call tree of a set of stacks and the frames to draw from it.
///
/// Layout as flamegraph.pl and inferno do it: one root ("all") at the bottom, each frame as wide as
/// its value, children left to right in byte order of their names, a parent's own (self) value left
/// uncovered at its right end. Unlike them, siblings narrower than the minimum width are not just
/// dropped: together they become one grey "[N small frames]" frame when that is wide enough, so
/// the graph still accounts for their time; only what stays too thin even merged is hidden.
struct FlamegraphLayout {
    /// One drawn rectangle.
    struct Frame {
        var name: String
        /// Left edge, in value units from the left of the graph.
        var offset: UInt64
        var value: UInt64
        var depth: Int
        var family: FlamegraphPalette.Family
        /// Number of sibling frames merged into this one; 0 for an ordinary frame.
        var mergedCount: Int
        /// Value of the parent frame (the total for the root).
        var parentValue: UInt64
    }

    var frames: [Frame] = []
    var total: UInt64 = 0
    var maxDepth = 0
    var stats = FlamegraphStats()

    /// Lays out the `lines` of `table` (frames root first) for a graph `graphWidth` px wide.
    init(table: StackTable, lines: [FoldedResult.Line], rootName: String, graphWidth: Double, minFrameWidth: Double) {
        var tree = Tree(table: table, rootName: rootName)
        for i in tree.drawingOrder(lines, table: table) where lines[i].value > 0 {
            let line = lines[i]
            tree.add(LineFrames(first: line.first, second: line.second, body: table.frames(line.body)), value: line.value)
            stats.stacks += 1
        }
        total = tree.values[0]
        stats.total = total
        stats.nodes = tree.values.count
        guard total > 0 else { return }
        let children = tree.children()
        let scale = graphWidth / Double(total)
        place(tree: tree, children: children, node: 0, offset: 0, depth: 0, family: .other, parentValue: total,
              scale: scale, minWidth: minFrameWidth)
        stats.drawnFrames = frames.count
        stats.maxDepth = maxDepth
    }

    private mutating func place(tree: Tree, children: Tree.Children, node: Int, offset: UInt64, depth: Int,
                                family: FlamegraphPalette.Family, parentValue: UInt64, scale: Double, minWidth: Double) {
        let value = tree.values[node]
        frames.append(Frame(name: tree.name(node), offset: offset, value: value, depth: depth, family: family,
                            mergedCount: 0, parentValue: parentValue))
        maxDepth = max(maxDepth, depth)
        var x = offset
        var smallCount = 0
        var smallValue: UInt64 = 0
        for child in children.of(node) {
            let childValue = tree.values[child]
            if Double(childValue) * scale >= minWidth {
                let childFamily = depth == 0 ? FlamegraphPalette.Family(rootFrame: tree.name(child)) : family
                place(tree: tree, children: children, node: child, offset: x, depth: depth + 1, family: childFamily,
                      parentValue: value, scale: scale, minWidth: minWidth)
                x = x.addingOrMax(childValue)
            } else {
                smallCount += 1
                smallValue = smallValue.addingOrMax(childValue)
            }
        }
        guard smallCount > 0 else { return }
        if smallCount > 1 && Double(smallValue) * scale >= minWidth {
            frames.append(Frame(name: "[\(smallCount) small frames]", offset: x, value: smallValue, depth: depth + 1,
                                family: family, mergedCount: smallCount, parentValue: value))
            maxDepth = max(maxDepth, depth + 1)
            stats.mergedGroups += 1
            stats.mergedFrames += smallCount
        } else {
            stats.hiddenFrames += smallCount
        }
    }

    /// The call tree: node 0 is the root; a node is a frame name (as drawn) under its parent.
    /// Lines are added in the order of their drawn names (`drawingOrder`): the lines under a
    /// node then follow one another, so a frame not on the previous line's path is a new node,
    /// found without a lookup (a 110,000-stack fold makes 2.8 million nodes), and each node's
    /// children are made in the order they are drawn.
    private struct Tree {
        /// The names as drawn (`FlamegraphText.frameName`), each once, their ranks in byte
        /// order, and the index of each table name among them: two table names drawn alike
        /// are one node.
        var drawn: [String] = []
        var drawnRank: [Int] = []
        var drawnIndex: [Int32]
        /// Per node: its drawn name (-1: the root), parent, summed value.
        var names: [Int32] = [-1]
        var parents: [Int32] = [-1]
        var values: [UInt64] = [0]
        let rootName: String
        /// The nodes of the last line added (path[0] is the root) and their drawn names.
        private var path: [Int32] = [0]
        private var pathNames: [Int32] = []

        init(table: StackTable, rootName: String) {
            self.rootName = rootName
            var shown = StackTable()
            drawnIndex = table.names.map { shown.index(of: FlamegraphText.frameName($0)) }
            drawn = shown.names
            drawnRank = Array(repeating: 0, count: drawn.count)
            for (r, i) in drawn.indices.sorted(by: { utf8Precedes(drawn[$0], drawn[$1]) }).enumerated() { drawnRank[i] = r }
        }

        func name(_ node: Int) -> String { node == 0 ? rootName : drawn[Int(names[node])] }

        /// The lines' indices, sorted by the byte order of their drawn names frame by frame (a
        /// line before those it is a prefix of).
        func drawingOrder(_ lines: [FoldedResult.Line], table: StackTable) -> [Int] {
            var sequences = RankSequences(ranks: drawn.count, sequences: lines.count)
            for line in lines {
                for f in LineFrames(first: line.first, second: line.second, body: table.frames(line.body)) {
                    sequences.append(drawnRank[Int(drawnIndex[Int(f)])])
                }
                sequences.endSequence()
            }
            return sequences.sortedOrder()
        }

        mutating func add(_ frames: LineFrames, value: UInt64) {
            var shared = 0
            while shared < frames.count, shared < pathNames.count, drawnIndex[Int(frames[shared])] == pathNames[shared] {
                shared += 1
            }
            path.removeSubrange((shared + 1)...)
            pathNames.removeSubrange(shared...)
            for frame in frames.dropFirst(shared) {
                let name = drawnIndex[Int(frame)]
                path.append(Int32(values.count))
                names.append(name)
                parents.append(path[path.count - 2])
                values.append(0)
                pathNames.append(name)
            }
            for node in path { values[Int(node)] = values[Int(node)].addingOrMax(value) }
        }

        /// Children of each node, left to right in the order they are drawn (made).
        struct Children {
            var start: [Int32]
            var nodes: [Int32]
            func of(_ node: Int) -> LazyMapSequence<ArraySlice<Int32>, Int> {
                nodes[Int(start[node])..<Int(start[node + 1])].lazy.map { Int($0) }
            }
        }

        func children() -> Children {
            var start = [Int32](repeating: 0, count: values.count + 1)
            for node in 1..<values.count { start[Int(parents[node]) + 1] += 1 }
            for i in 0..<values.count { start[i + 1] += start[i] }
            var fill = start
            var nodes = [Int32](repeating: 0, count: max(0, values.count - 1))
            for node in 1..<values.count {
                let p = Int(parents[node])
                nodes[Int(fill[p])] = Int32(node)
                fill[p] += 1
            }
            return Children(start: start, nodes: nodes)
        }
    }
}

/// What a rendering drew and left out.
public struct FlamegraphStats: Sendable, Equatable {
    /// Input stacks with a nonzero value.
    public var stacks = 0
    /// Sum of their values: the width of the root frame.
    public var total: UInt64 = 0
    /// Distinct frames in the merged call tree, the root included.
    public var nodes = 0
    /// Frames drawn, "[N small frames]" ones included.
    public var drawnFrames = 0
    /// "[N small frames]" frames drawn.
    public var mergedGroups = 0
    /// Sibling frames (each with its subtree) drawn merged into those.
    public var mergedFrames = 0
    /// Frames (each with its subtree) too thin to draw even merged with their small siblings.
    public var hiddenFrames = 0
    /// Depth of the deepest frame drawn (the root is at depth 0).
    public var maxDepth = 0

    public init() {}
}
