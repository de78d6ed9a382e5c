/// Runs of 64-bit words by id (a stack's frames, a leaf context), kept in a few large blocks,
/// one per batch of the kernel's map they were read in, rather than an array per id: the
/// 110,000 stacks and leaf contexts of a big trace were 220,000 allocations to make and free.
public struct WordRuns: Sendable {
    @usableFromInline var blocks: [[UInt64]] = []
    /// Each id's run, found through `index` (hundreds of thousands of lookups).
    @usableFromInline var ids: [UInt64] = []
    @usableFromInline var locations: [Location] = []
    @usableFromInline var index = HashIndex(capacity: 0)

    @usableFromInline struct Location: Sendable {
        @usableFromInline var block: Int32
        @usableFromInline var start: Int32
        @usableFromInline var count: Int32
    }

    public init() {}

    /// From runs held one array each.
    public init(_ runs: [UInt64: [UInt64]]) {
        for (id, words) in runs { appendBlock(words, runs: [(id, words.count)]) }
    }

    /// Number of ids.
    public var count: Int { ids.count }

    /// Number of words of all runs.
    public var wordCount: Int { blocks.reduce(0) { $0 + $1.count } }

    /// `body` with the run of `id`, in place: no slice of the block is made (a slice takes a
    /// reference to the block, counted up and down at every lookup, from both resolving threads).
    @inlinable
    public func withRun<R>(_ id: UInt64, _ body: (UnsafeBufferPointer<UInt64>) throws -> R) rethrows -> R? {
        guard let i = index.find(id, matches: { ids[Int($0)] == id }).id else { return nil }
        let l = locations[Int(i)]
        return try blocks.withUnsafeBufferPointer { blocks in
            // The buffer's subscript gives the block in place (an address, not a copy).
            try blocks[Int(l.block)].withUnsafeBufferPointer { words in
                try body(UnsafeBufferPointer(rebasing: words[Int(l.start)..<Int(l.start + l.count)]))
            }
        }
    }

    /// The run of `id`, copied (see `withRun`).
    @inlinable
    public func array(_ id: UInt64) -> [UInt64]? {
        withRun(id) { Array($0) }
    }

    /// Adds a block: the runs of `runs`' ids, in order, one after the other in `words`. An id
    /// already present takes its new run.
    public mutating func appendBlock(_ words: [UInt64], runs: [(id: UInt64, count: Int)]) {
        var start: Int32 = 0
        for run in runs {
            let location = Location(block: Int32(blocks.count), start: start, count: Int32(run.count))
            start += Int32(run.count)
            let found = index.find(run.id, matches: { ids[Int($0)] == run.id })
            if let i = found.id {
                locations[Int(i)] = location
            } else {
                ids.append(run.id)
                locations.append(location)
                index.insert(Int32(ids.count - 1), at: found.slot) { ids[Int($0)] }
            }
        }
        blocks.append(words)
    }
}
