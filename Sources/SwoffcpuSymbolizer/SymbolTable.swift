/// Sorted, deduplicated symbols of one module: parallel arrays plus one blob of names, looked up
/// by binary search. Immutable once built, so shared freely between snapshots and threads.
struct SymbolTable: Sendable {
    /// Symbol start addresses (ELF virtual addresses, or kernel addresses), ascending.
    let starts: [UInt64]
    /// Exclusive end of each symbol.
    let ends: [UInt64]
    /// max(ends[0...i]): lets lookups step back over symbols nested in a bigger one.
    let maxEnds: [UInt64]
    let nameStarts: [UInt32]
    let nameLengths: [UInt32]
    let names: [UInt8]
    /// Caller-defined small tag per symbol (kernel: module index).
    let tags: [UInt16]

    static let empty = SymbolTable(starts: [], ends: [], maxEnds: [], nameStarts: [], nameLengths: [], names: [], tags: [])

    var count: Int { starts.count }

    func name(at i: Int) -> String {
        let s = Int(nameStarts[i])
        return String(decoding: names[s..<(s + Int(nameLengths[i]))], as: UTF8.self)
    }

    /// Index of the innermost symbol containing `address`.
    func lookup(_ address: UInt64) -> Int? {
        // Last index with start <= address.
        var lo = 0
        var hi = starts.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if starts[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        var i = lo - 1
        var steps = 0
        while i >= 0, maxEnds[i] > address, steps < 256 {
            if ends[i] > address { return i }
            i -= 1
            steps += 1
        }
        return nil
    }
}

/// Collects symbols from one or more tables, then sorts and deduplicates them.
struct SymbolTableBuilder {
    private var starts: [UInt64] = []
    private var sizes: [UInt64] = []
    private var sectionEnds: [UInt64] = []
    private var ranks: [UInt8] = []
    private var nameStarts: [UInt32] = []
    private var nameLengths: [UInt32] = []
    private var names: [UInt8] = []
    private var tags: [UInt16] = []

    /// Kernel tables have no sizes: a symbol then ends at the next one, at most this far away.
    var maxImplicitSize: UInt64 = 1 << 20

    var count: Int { starts.count }

    mutating func reserve(_ n: Int) {
        starts.reserveCapacity(starts.count + n)
        sizes.reserveCapacity(sizes.count + n)
        sectionEnds.reserveCapacity(sectionEnds.count + n)
        ranks.reserveCapacity(ranks.count + n)
        nameStarts.reserveCapacity(nameStarts.count + n)
        nameLengths.reserveCapacity(nameLengths.count + n)
        tags.reserveCapacity(tags.count + n)
    }

    /// Higher is better when several symbols share an address.
    static func rank(isFunc: Bool, bind: UInt8) -> UInt8 {
        let b: UInt8 = bind == ELFConst.stbGlobal ? 2 : (bind == ELFConst.stbWeak ? 1 : 0)
        return (isFunc ? 4 : 0) + b
    }

    /// `sectionEnd` 0 means unknown.
    mutating func add(start: UInt64, size: UInt64, sectionEnd: UInt64, rank: UInt8,
                      name: [UInt8], nameOffset: Int, nameLength: Int, tag: UInt16 = 0) {
        guard names.count + nameLength < Int(UInt32.max), nameLength > 0,
              nameOffset >= 0, nameOffset + nameLength <= name.count else { return }
        starts.append(start)
        sizes.append(size)
        sectionEnds.append(sectionEnd)
        ranks.append(rank)
        nameStarts.append(UInt32(names.count))
        nameLengths.append(UInt32(min(nameLength, 4096)))
        names.append(contentsOf: name[nameOffset..<(nameOffset + min(nameLength, 4096))])
        tags.append(tag)
    }

    private func nameBytes(_ i: Int) -> ArraySlice<UInt8> {
        let s = Int(nameStarts[i])
        return names[s..<(s + Int(nameLengths[i]))]
    }

    /// True when symbol a is a better name than b for the same address.
    private func better(_ a: Int, _ b: Int) -> Bool {
        if ranks[a] != ranks[b] { return ranks[a] > ranks[b] }
        let na = nameBytes(a), nb = nameBytes(b)
        let ua = na.prefix { $0 == UInt8(ascii: "_") }.count
        let ub = nb.prefix { $0 == UInt8(ascii: "_") }.count
        if ua != ub { return ua < ub }
        if na.count != nb.count { return na.count < nb.count }
        // Same length here: first differing byte decides.
        var x = na.startIndex
        var y = nb.startIndex
        while x < na.endIndex {
            if na[x] != nb[y] { return na[x] < nb[y] }
            x += 1
            y += 1
        }
        return false
    }

    func build() -> SymbolTable {
        let n = starts.count
        if n == 0 { return .empty }
        // Sort by address only (cheap), then pick the best name inside each run of equal starts.
        let order = starts.withUnsafeBufferPointer { st in
            (0..<n).sorted { a, b in st[a] < st[b] || (st[a] == st[b] && a < b) }
        }
        // Deduplicate equal starts: keep the best name, the largest size.
        var keep: [Int] = []
        var keepSize: [UInt64] = []
        var keepSectionEnd: [UInt64] = []
        keep.reserveCapacity(n)
        var i = 0
        while i < n {
            var best = order[i]
            var size = sizes[best]
            var secEnd = sectionEnds[best]
            var j = i + 1
            while j < n, starts[order[j]] == starts[best] {
                let o = order[j]
                if better(o, best) { best = o }
                size = max(size, sizes[o])
                secEnd = max(secEnd, sectionEnds[o])
                j += 1
            }
            keep.append(best)
            keepSize.append(size)
            keepSectionEnd.append(secEnd)
            i = j
        }
        let m = keep.count
        var outStarts = [UInt64](repeating: 0, count: m)
        var outEnds = [UInt64](repeating: 0, count: m)
        var outNameStarts = [UInt32](repeating: 0, count: m)
        var outNameLengths = [UInt32](repeating: 0, count: m)
        var outTags = [UInt16](repeating: 0, count: m)
        var outNames: [UInt8] = []
        outNames.reserveCapacity(keep.reduce(0) { $0 + Int(nameLengths[$1]) })
        for k in 0..<m {
            let s = keep[k]
            outStarts[k] = starts[s]
            outNameStarts[k] = UInt32(outNames.count)
            outNameLengths[k] = nameLengths[s]
            outTags[k] = tags[s]
            outNames.append(contentsOf: nameBytes(s))
        }
        for k in 0..<m {
            let start = outStarts[k]
            let size = keepSize[k]
            if size > 0 {
                let (e, o) = start.addingReportingOverflow(size)
                outEnds[k] = o ? UInt64.max : e
            } else {
                // Zero-sized: up to the next symbol, bounded by its section and by maxImplicitSize.
                var end = k + 1 < m ? outStarts[k + 1] : UInt64.max
                let secEnd = keepSectionEnd[k]
                if secEnd > start { end = min(end, secEnd) }
                let (cap, o) = start.addingReportingOverflow(maxImplicitSize)
                end = min(end, o ? UInt64.max : cap)
                outEnds[k] = max(end, start &+ 1)
            }
        }
        var maxEnds = [UInt64](repeating: 0, count: m)
        var running: UInt64 = 0
        for k in 0..<m {
            running = max(running, outEnds[k])
            maxEnds[k] = running
        }
        return SymbolTable(starts: outStarts, ends: outEnds, maxEnds: maxEnds,
                           nameStarts: outNameStarts, nameLengths: outNameLengths, names: outNames, tags: outTags)
    }
}
