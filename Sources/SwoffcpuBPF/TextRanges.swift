import SwoffcpuSystem

/// The executable ranges of the traced processes, for the kernel side's stack ids
/// (see `swoffcpu_text_range` in bpf/swoffcpu.h): from /proc/PID/maps, sorted, merged,
/// and, past `limit`, the closest neighbours merged until they fit (a coarser filter,
/// still excluding stacks and heap).
enum TextRanges {
    static func of(pids: [Int32], limit: Int) -> [(start: UInt64, end: UInt64)] {
        var ranges: [(start: UInt64, end: UInt64)] = []
        for pid in pids {
            guard let maps = ProcFS.read("/proc/\(pid)/maps") else { continue }
            for line in maps.split(separator: "\n") {
                let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
                guard fields.count >= 2, fields[1].count >= 3,
                      fields[1][fields[1].index(fields[1].startIndex, offsetBy: 2)] == "x" else { continue }
                let bounds = fields[0].split(separator: "-")
                guard bounds.count == 2, let start = UInt64(bounds[0], radix: 16),
                      let end = UInt64(bounds[1], radix: 16), end > start else { continue }
                ranges.append((start, end))
            }
        }
        return merged(ranges, limit: limit)
    }

    static func merged(_ input: [(start: UInt64, end: UInt64)], limit: Int) -> [(start: UInt64, end: UInt64)] {
        var ranges: [(start: UInt64, end: UInt64)] = []
        for r in input.sorted(by: { $0.start < $1.start }) {
            if let last = ranges.last, r.start <= last.end {
                ranges[ranges.count - 1].end = max(last.end, r.end)
            } else {
                ranges.append(r)
            }
        }
        while ranges.count > limit, ranges.count > 1 {
            var best = 0
            for i in 0..<(ranges.count - 1) where ranges[i + 1].start - ranges[i].end < ranges[best + 1].start - ranges[best].end {
                best = i
            }
            ranges[best].end = ranges[best + 1].end
            ranges.remove(at: best + 1)
        }
        return ranges
    }
}
