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

    /// Lays out `stacks` (frames root first) for a graph `graphWidth` px wide.
    init(stacks: [(frames: [String], value: UInt64)], rootName: String, graphWidth: Double, minFrameWidth: Double) {
        var tree = Tree(rootName: rootName)
        for stack in stacks where stack.value > 0 {
            tree.add(stack.frames, value: stack.value)
            stats.stacks += 1
        }
        total = tree.values[0]
        stats.total = total
        stats.nodes = tree.names.count
        guard total > 0 else { return }
        let scale = graphWidth / Double(total)
        place(tree: tree, node: 0, offset: 0, depth: 0, family: .other, parentValue: total,
              scale: scale, minWidth: minFrameWidth)
        stats.drawnFrames = frames.count
        stats.maxDepth = maxDepth
    }

    private mutating func place(tree: Tree, node: Int, offset: UInt64, depth: Int, family: FlamegraphPalette.Family,
                                parentValue: UInt64, scale: Double, minWidth: Double) {
        let value = tree.values[node]
        frames.append(Frame(name: tree.names[node], offset: offset, value: value, depth: depth, family: family,
                            mergedCount: 0, parentValue: parentValue))
        maxDepth = max(maxDepth, depth)
        let children = tree.children[node].values.sorted {
            utf8Precedes(tree.names[$0], tree.names[$1])
        }
        var x = offset
        var smallCount = 0
        var smallValue: UInt64 = 0
        for child in children {
            let childValue = tree.values[child]
            if Double(childValue) * scale >= minWidth {
                let childFamily = depth == 0 ? FlamegraphPalette.Family(rootFrame: tree.names[child]) : family
                place(tree: tree, node: child, offset: x, depth: depth + 1, family: childFamily,
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

    /// Call tree in arrays: node 0 is the root.
    private struct Tree {
        var names: [String]
        var values: [UInt64]
        var children: [[String: Int]]

        init(rootName: String) {
            names = [rootName]
            values = [0]
            children = [[:]]
        }

        mutating func add(_ frames: [String], value: UInt64) {
            var node = 0
            values[0] = values[0].addingOrMax(value)
            for frame in frames {
                let name = FlamegraphText.frameName(frame)
                if let child = children[node][name] {
                    node = child
                } else {
                    let child = names.count
                    names.append(name)
                    values.append(0)
                    children.append([:])
                    children[node][name] = child
                    node = child
                }
                values[node] = values[node].addingOrMax(value)
            }
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
