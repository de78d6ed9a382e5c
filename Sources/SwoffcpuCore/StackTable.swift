/// Symbolized stacks, each distinct frame name and each distinct stack stored once: a name
/// has an index into `names`, a stack is the sequence of its frames' indices and has an id.
/// A trace with 100,000 stacks repeats a few thousand names millions of times; exporters
/// merge, sort and rank by these integers and read names only to write.
///
/// Equal frame sequences get the same id, so two samples have the same frames exactly when
/// they have the same stack id. Id 0 is the empty stack. (Symbolized stacks are leaf first;
/// folded lines, kept in a table too, root first.)
public struct StackTable: Sendable {
    /// Frame names, by index.
    public private(set) var names: [String] = []
    private var nameIndex: [String: Int32] = [:]
    /// The frames of all stacks one after the other: stack i is allFrames[ends[i - 1]..<ends[i]].
    /// One buffer, not an array a stack: 200,000 stacks are 200,000 allocations less.
    private var allFrames: [Int32] = []
    private var ends: [Int] = []
    /// Each stack's hash, and the stacks by it.
    private var hashes: [UInt64] = []
    private var lookup: HashIndex

    /// The id of the empty stack.
    public static let empty: Int32 = 0

    /// Room for `stacks` stacks of `frames` frames in all without growing: a big table grown
    /// by doubling would leave its old copies behind in the peak memory.
    public init(reservingCapacity stacks: Int = 0, frames: Int = 0) {
        lookup = HashIndex(capacity: stacks + 1)
        allFrames.reserveCapacity(frames)
        ends.reserveCapacity(stacks + 1)
        hashes.reserveCapacity(stacks + 1)
        _ = add([])
    }

    /// Number of distinct stacks, the empty one included.
    public var count: Int { ends.count }

    /// Number of frames of all stacks.
    public var frameCount: Int { allFrames.count }

    /// The index of `name`, added if new.
    public mutating func index(of name: String) -> Int32 {
        if let i = nameIndex[name] { return i }
        let i = Int32(names.count)
        names.append(name)
        nameIndex[name] = i
        return i
    }

    /// The id of the stack with these frame indices, added if new.
    public mutating func add(_ stack: [Int32]) -> Int32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a over the indices
        for f in stack { h = (h ^ UInt64(UInt32(bitPattern: f))) &* 0x0000_0100_0000_01b3 }
        let found = lookup.find(h) { hashes[Int($0)] == h && frames($0) == stack[...] }
        if let id = found.id { return id }
        let id = Int32(ends.count)
        allFrames += stack
        ends.append(allFrames.count)
        hashes.append(h)
        lookup.insert(id, at: found.slot) { hashes[Int($0)] }
        return id
    }

    /// The id of the stack with these frame names, added if new.
    public mutating func add(names stack: [String]) -> Int32 {
        add(stack.map { index(of: $0) })
    }

    /// Frame indices of a stack.
    public func frames(_ id: Int32) -> ArraySlice<Int32> {
        allFrames[(id == 0 ? 0 : ends[Int(id) - 1])..<ends[Int(id)]]
    }

    /// Frame names of a stack.
    public func names(_ id: Int32) -> [String] { frames(id).map { names[Int($0)] } }
}
