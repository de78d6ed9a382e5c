/// Sequences of ranks (small integers), sorted lexicographically, a sequence that is a prefix
/// of another first. Each sequence's ranks + 1 are packed first-highest into 64-bit words (0
/// pads the last word, below every rank), so that a comparison compares several ranks at once:
/// sorting the 220,000 lines of a 110,000-stack fold frame by frame took most of the fold.
struct RankSequences {
    private let bits: Int
    private let perWord: Int
    private var words: [UInt64] = []
    private var starts = [0]
    private var word: UInt64 = 0
    private var filled = 0

    /// For ranks below `ranks`.
    init(ranks: Int, sequences: Int = 0) {
        var bits = 1
        while (1 << bits) <= ranks { bits += 1 }
        self.bits = bits
        perWord = 64 / bits
        starts.reserveCapacity(sequences + 1)
    }

    /// The next rank of the current sequence.
    mutating func append(_ rank: Int) {
        word |= UInt64(rank + 1) << UInt64(bits * (perWord - 1 - filled))
        filled += 1
        if filled == perWord {
            words.append(word)
            word = 0
            filled = 0
        }
    }

    /// Ends the current sequence: the next rank starts another.
    mutating func endSequence() {
        if filled > 0 { words.append(word) }
        word = 0
        filled = 0
        starts.append(words.count)
    }

    /// The sequences' indices in sorted order (equal sequences in the order they were added).
    func sortedOrder() -> [Int] {
        var order = Array(0..<(starts.count - 1))
        words.withUnsafeBufferPointer { w in
            starts.withUnsafeBufferPointer { start in
                order.sort { a, b in
                    var i = start[a], j = start[b]
                    let endA = start[a + 1], endB = start[b + 1]
                    while i < endA && j < endB {
                        if w[i] != w[j] { return w[i] < w[j] }
                        i += 1
                        j += 1
                    }
                    return endA - i < endB - j
                }
            }
        }
        return order
    }
}
