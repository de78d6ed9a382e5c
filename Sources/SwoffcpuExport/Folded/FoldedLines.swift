/// Folded lines being merged: each frame name (already sanitized) stored once, each line a
/// sequence of name indices, root first, with its time summed in nanoseconds. Shared by every
/// folded exporter: merging by integers instead of joined strings is what lets 200,000
/// lines of 30 frames fold in well under a second.
struct FoldedLines {
    /// The names, and the lines as stacks of name indices (root first).
    private(set) var table: StackTable
    /// Time per stack id of `table`, and whether that stack is a line (the table's empty
    /// stack is not, unless it was added).
    private var ns: [UInt64] = []
    private var isLine: [Bool] = []
    /// The ids of the lines, in the order they were first added.
    private var lineIDs: [Int32] = []

    /// Room for `lines` lines of `frames` frames in all without growing.
    init(reservingCapacity lines: Int = 0, frames: Int = 0) {
        table = StackTable(reservingCapacity: lines, frames: frames)
        ns.reserveCapacity(lines + 1)
        isLine.reserveCapacity(lines + 1)
        lineIDs.reserveCapacity(lines)
    }

    /// The index of a frame name, which must be a valid folded frame (see `FoldedWriter.sanitize`).
    mutating func index(of name: String) -> Int32 { table.index(of: name) }

    /// Adds `ns` to the line with these frames (name indices, root first).
    mutating func add(_ frames: [Int32], ns value: UInt64) {
        let id = Int(table.add(frames))
        while ns.count < table.count {
            ns.append(0)
            isLine.append(false)
        }
        if !isLine[id] {
            isLine[id] = true
            lineIDs.append(Int32(id))
        }
        ns[id] = ns[id].addingOrMax(value)
    }

    /// Adds `ns` to the line with these frame names, root first.
    mutating func add(names: [String], ns value: UInt64) {
        add(names.map { index(of: $0) }, ns: value)
    }

    /// The lines sorted by their bytes (as `LC_ALL=C sort`), each rounded once to `unit`, those
    /// that round to zero dropped (and counted in `summary`) unless `keepZeroLines`.
    func result(summary: FoldedSummary, unit: FoldedTimeUnit, keepZeroLines: Bool = false) -> FoldedResult {
        var summary = summary
        var lines: [FoldedResult.Line] = []
        lines.reserveCapacity(lineIDs.count)
        for id in sortedByBytes() {
            let ns = ns[Int(id)]
            let value = unit.value(fromNanoseconds: ns)
            if value == 0 && !keepZeroLines {
                summary.droppedLines += 1
                summary.droppedNs += ns
                continue
            }
            summary.lines += 1
            summary.writtenNs = summary.writtenNs.addingOrMax(ns)
            summary.valueSum = summary.valueSum.addingOrMax(value)
            lines.append(FoldedResult.Line(stack: id, value: value))
        }
        return FoldedResult(frames: table, lines: lines, summary: summary, unit: unit)
    }

    /// The line ids in the byte order of their text. Lines are compared frame by frame, by
    /// the rank of each frame's bytes with what follows it in the text: `;` within the line,
    /// nothing at its end (before any byte). No name holds `;`, so the first frame at which
    /// two lines differ orders them as their bytes would (`a b;…` before `a;…`, `a` at a
    /// line's end before `a b;…`).
    private func sortedByBytes() -> [Int32] {
        let names = table.names.map { Array($0.utf8) }
        // Key 2i: name i followed by `;`; key 2i + 1: name i ending its line.
        func symbol(_ key: Int, _ position: Int) -> Int {
            let name = names[key >> 1]
            if position < name.count { return Int(name[position]) }
            return key & 1 == 0 ? Int(UInt8(ascii: ";")) : -1
        }
        var keys = Array(0..<(2 * names.count))
        keys.sort { a, b in
            var i = 0
            while true {
                let x = symbol(a, i), y = symbol(b, i)
                if x != y { return x < y }
                if x < 0 || x == Int(UInt8(ascii: ";")) { return false } // the same key
                i += 1
            }
        }
        var rank = [Int32](repeating: 0, count: keys.count)
        for (r, key) in keys.enumerated() { rank[key] = Int32(r) }
        // Each line's ranks + 1, packed first-frame-highest into 64-bit words (0 pads the last
        // word, below every rank): comparing words compares several frames at once, and a line
        // that is a prefix of another comes first.
        var bits = 1
        while (1 << bits) <= rank.count { bits += 1 }
        let perWord = 64 / bits
        var words: [UInt64] = [], starts = [0]
        starts.reserveCapacity(lineIDs.count + 1)
        for id in lineIDs {
            let frames = table.frames(id)
            var word: UInt64 = 0, filled = 0
            for (i, f) in frames.enumerated() {
                let r = UInt64(rank[2 * Int(f) + (i == frames.count - 1 ? 1 : 0)]) + 1
                word |= r << UInt64(bits * (perWord - 1 - filled))
                filled += 1
                if filled == perWord {
                    words.append(word)
                    word = 0
                    filled = 0
                }
            }
            if filled > 0 { words.append(word) }
            starts.append(words.count)
        }
        var order = Array(lineIDs.indices)
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
        return order.map { lineIDs[$0] }
    }
}
