/// Symbolized stacks, each distinct frame name and each distinct stack stored once: a name
/// has an index into `names`, a stack is the sequence of its frames' indices, leaf first,
/// and has an id. A trace with 100,000 stacks repeats a few thousand names millions of
/// times; exporters merge, sort and rank by these integers and read names only to write.
///
/// Equal frame sequences get the same id, so two samples have the same frames exactly when
/// they have the same stack id. Id 0 is the empty stack.
public struct StackTable: Sendable {
    /// Frame names, by index.
    public private(set) var names: [String] = []
    private var nameIndex: [String: Int32] = [:]
    /// Frame indices of each stack, leaf first, by id (each array shared with its key in `stackIDs`).
    private var stacks: [[Int32]] = []
    private var stackIDs: [Frames: Int32] = [:]

    /// The id of the empty stack.
    public static let empty: Int32 = 0

    /// Room for `stacks` stacks without growing (growing rehashes every stack).
    public init(reservingCapacity stacks: Int = 0) {
        self.stacks.reserveCapacity(stacks + 1)
        stackIDs.reserveCapacity(stacks + 1)
        _ = add([])
    }

    /// Number of distinct stacks, the empty one included.
    public var count: Int { stacks.count }

    /// The index of `name`, added if new.
    public mutating func index(of name: String) -> Int32 {
        if let i = nameIndex[name] { return i }
        let i = Int32(names.count)
        names.append(name)
        nameIndex[name] = i
        return i
    }

    /// The id of the stack with these frame indices (leaf first), added if new.
    public mutating func add(_ frames: [Int32]) -> Int32 {
        let key = Frames(frames)
        if let id = stackIDs[key] { return id }
        let id = Int32(stacks.count)
        stacks.append(frames)
        stackIDs[key] = id
        return id
    }

    /// The id of the stack with these frame names (leaf first), added if new.
    public mutating func add(names frames: [String]) -> Int32 {
        add(frames.map { index(of: $0) })
    }

    /// Frame indices of a stack, leaf first.
    public func frames(_ id: Int32) -> [Int32] { stacks[Int(id)] }

    /// Frame names of a stack, leaf first.
    public func names(_ id: Int32) -> [String] { stacks[Int(id)].map { names[Int($0)] } }

    /// A stack's frames as a key, hashed once by a multiply-xor hash over its indices: the
    /// standard hasher costs a few nanoseconds an element, and hundreds of thousands of
    /// stacks of 30 frames are hashed at each lookup and again at each growth.
    private struct Frames: Hashable {
        let frames: [Int32]
        let hash: UInt64

        init(_ frames: [Int32]) {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for f in frames { h = (h ^ UInt64(UInt32(bitPattern: f))) &* 0x0000_0100_0000_01b3 }
            self.frames = frames
            hash = h
        }

        static func == (a: Frames, b: Frames) -> Bool { a.hash == b.hash && a.frames == b.frames }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }
}
