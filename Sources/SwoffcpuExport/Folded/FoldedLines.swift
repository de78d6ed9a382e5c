import SwoffcpuCore

/// Folded lines being merged. Each frame name (already sanitized) is stored once; a line is a
/// prefix of at most two names and a body, a sequence of names stored once however many lines
/// end with it, and its time is summed in nanoseconds. The stack exporter's lines are a state
/// and a thread then a body of stack frames: a 110,000-stack trace has 220,000 lines but half
/// as many bodies, and lines merge and sort by (prefix, body id) without hashing or comparing
/// their frames again. Shared by every folded exporter (the others' prefixes are empty).
struct FoldedLines {
    /// The names, and the bodies as stacks of name indices (root first).
    private(set) var table: StackTable
    private var lines: [Key] = []
    private var ns: [UInt64] = []
    /// The lines by a multiply-xor hash of their keys: the standard Dictionary's SipHash on
    /// each of 220,000 lines cost more than the rest of the merge.
    private var lookup: HashIndex

    /// A line: `first` and `second` (-1: none) then the frames of `body`.
    struct Key: Hashable {
        var first: Int32
        var second: Int32
        var body: Int32
    }

    /// Room for `bodies` bodies of `frames` frames in all, and `lines` lines, without growing.
    init(bodies: Int = 0, frames: Int = 0, lines: Int = 0) {
        table = StackTable(reservingCapacity: bodies, frames: frames)
        lookup = HashIndex(capacity: lines)
        self.lines.reserveCapacity(lines)
        ns.reserveCapacity(lines)
    }

    /// The index of a frame name, which must be a valid folded frame (see `FoldedWriter.sanitize`).
    mutating func index(of name: String) -> Int32 { table.index(of: name) }

    /// The id of a body (name indices, root first).
    mutating func body(_ frames: [Int32]) -> Int32 { table.add(frames) }

    /// Adds `ns` to a line. The lines of one fold have prefixes of one length.
    mutating func add(_ line: Key, ns value: UInt64) {
        let found = lookup.find(Self.hash(line)) { lines[Int($0)] == line }
        if let i = found.id {
            ns[Int(i)] = ns[Int(i)].addingOrMax(value)
            return
        }
        lines.append(line)
        ns.append(value)
        lookup.insert(Int32(lines.count - 1), at: found.slot) { Self.hash(lines[Int($0)]) }
    }

    private static func hash(_ line: Key) -> UInt64 {
        let h = (UInt64(UInt32(bitPattern: line.body)) ^ UInt64(UInt32(bitPattern: line.second)) << 32) &* 0xC2B2_AE3D_27D4_EB4F
        return h ^ UInt64(UInt32(bitPattern: line.first))
    }

    /// Adds `ns` to the line with these frame names, root first (no prefix).
    mutating func add(names: [String], ns value: UInt64) {
        add(Key(first: -1, second: -1, body: body(names.map { index(of: $0) })), ns: value)
    }

    /// The lines sorted by their bytes (as `LC_ALL=C sort`), each rounded once to `unit`, those
    /// that round to zero dropped (and counted in `summary`) unless `keepZeroLines`.
    func result(summary: FoldedSummary, unit: FoldedTimeUnit, keepZeroLines: Bool = false) -> FoldedResult {
        var summary = summary
        var out: [FoldedResult.Line] = []
        out.reserveCapacity(lines.count)
        for i in sortedByBytes() {
            let ns = ns[i]
            let value = unit.value(fromNanoseconds: ns)
            if value == 0 && !keepZeroLines {
                summary.droppedLines += 1
                summary.droppedNs += ns
                continue
            }
            summary.lines += 1
            summary.writtenNs = summary.writtenNs.addingOrMax(ns)
            summary.valueSum = summary.valueSum.addingOrMax(value)
            let line = lines[i]
            out.append(FoldedResult.Line(first: line.first, second: line.second, body: line.body, value: value))
        }
        return FoldedResult(frames: table, lines: out, summary: summary, unit: unit)
    }

    /// The line indices in the byte order of their text. Lines are compared frame by frame, by
    /// the rank of each frame's bytes with what follows it in the text: `;` within the line,
    /// nothing at its end (before any byte). No name holds `;`, so the first frame at which
    /// two lines differ orders them as their bytes would (`a b;…` before `a;…`, `a` at a
    /// line's end before `a b;…`). Bodies, at the ends of lines, are ranked once; a line is
    /// then ordered by its prefix's ranks and its body's place.
    private func sortedByBytes() -> [Int] {
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
        func rankOf(_ name: Int32, last: Bool) -> UInt32 { name < 0 ? 0 : UInt32(rank[2 * Int(name) + (last ? 1 : 0)]) + 1 }

        let place = bodyPlaces(rank: rank)
        var order = lines.indices.map { i -> (first: UInt32, second: UInt32, body: Int32, index: Int) in
            let line = lines[i]
            let bodyEmpty = table.frames(line.body).isEmpty
            return (rankOf(line.first, last: line.second < 0 && bodyEmpty), rankOf(line.second, last: bodyEmpty),
                    place[Int(line.body)], i)
        }
        order.sort { ($0.first, $0.second, $0.body) < ($1.first, $1.second, $1.body) }
        return order.map(\.index)
    }

    /// The place of each body in the byte order of the bodies, each frame ranked as in a line,
    /// the last one as ending it.
    private func bodyPlaces(rank: [Int32]) -> [Int32] {
        var sequences = RankSequences(ranks: rank.count, sequences: table.count)
        for id in 0..<Int32(table.count) {
            let frames = table.frames(id)
            for (i, f) in frames.enumerated() { sequences.append(Int(rank[2 * Int(f) + (i == frames.count - 1 ? 1 : 0)])) }
            sequences.endSequence()
        }
        var place = [Int32](repeating: 0, count: table.count)
        for (p, id) in sequences.sortedOrder().enumerated() { place[id] = Int32(p) }
        return place
    }
}
