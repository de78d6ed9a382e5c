import SwoffcpuCore
import SwoffcpuResolve

/// The text report's "top off-CPU stacks": per off-CPU state, the stacks that cost
/// most, with time, share of that state's total, and the threads that waited there.
/// Lines fit in `width` columns: frames are listed leaf first, one per line, long
/// names cut with "…", deep stacks shortened to the leaf and root ends.
public struct TopStacks: Sendable {
    public var top: Int
    public var width: Int
    /// Frames shown per stack before the middle is elided.
    public var maxFrames: Int

    public init(top: Int = 5, width: Int = 100, maxFrames: Int = 14) {
        self.top = top
        self.width = width
        self.maxFrames = maxFrames
    }

    /// One stack merged over threads.
    public struct Row: Sendable, Equatable {
        public var state: ThreadState
        public var userFrames: [String]
        public var kernelFrames: [String]
        public var ns: UInt64
        public var threads: [String]  // "comm-TID", most time first
    }

    /// Merges samples by (state, frames) and ranks them within each state: most time
    /// first, ties by frames. Only the first `limit` rows of each state are ranked (all
    /// when nil): with 100,000 stacks, ranking every row was most of the report's time.
    public func rows(_ stacks: SymbolizedStacks, limit: Int? = nil) -> [ThreadState: [Row]] {
        ranked(stacks, limit: limit).rows
    }

    /// `rows`, with each state's total time and number of distinct stacks. Samples merge by
    /// their stack ids (the table gives equal frames one id): sorted by the pair of ids, each
    /// run of equal pairs is a row.
    func ranked(_ stacks: SymbolizedStacks, limit: Int?)
        -> (rows: [ThreadState: [Row]], totals: [ThreadState: UInt64], counts: [ThreadState: Int]) {
        var byState = [[(pair: UInt64, sample: Int)]](repeating: [], count: ThreadState.allCases.count)
        for (i, s) in stacks.samples.enumerated() where s.state.isOffCPU {
            let pair = UInt64(UInt32(bitPattern: s.userStack)) << 32 | UInt64(UInt32(bitPattern: s.kernelStack))
            byState[s.state.rawValue].append((pair, i))
        }
        let table = stacks.table
        var out: [ThreadState: [Row]] = [:], totals: [ThreadState: UInt64] = [:], counts: [ThreadState: Int] = [:]
        for state in ThreadState.allCases where !byState[state.rawValue].isEmpty {
            var samples = byState[state.rawValue]
            samples.sort { $0.pair < $1.pair }
            var runs: [(samples: Range<Int>, ns: UInt64)] = []
            var start = 0
            while start < samples.count {
                var end = start, ns: UInt64 = 0
                while end < samples.count && samples[end].pair == samples[start].pair {
                    ns += stacks.samples[samples[end].sample].valueNs
                    end += 1
                }
                runs.append((start..<end, ns))
                start = end
            }
            totals[state] = runs.reduce(0) { $0 + $1.ns }
            counts[state] = runs.count
            if let limit, runs.count > limit {
                // The limit-th largest time: rows below it cannot rank; ties at it all stay.
                let cut = runs.map(\.ns).sorted(by: >)[limit - 1]
                runs = runs.filter { $0.ns >= cut }
            }
            var candidates = runs.map { run in
                let first = stacks.samples[samples[run.samples.lowerBound].sample]
                return (run: run, user: table.names(first.userStack), kernel: table.names(first.kernelStack))
            }
            candidates.sort { a, b in
                if a.run.ns != b.run.ns { return a.run.ns > b.run.ns }
                if a.user != b.user { return a.user.lexicographicallyPrecedes(b.user) }
                return a.kernel.lexicographicallyPrecedes(b.kernel)
            }
            if let limit { candidates = Array(candidates.prefix(limit)) }
            out[state] = candidates.map { c in
                // Its threads, merged by thread (`comm-TID` names one thread).
                var threads: [String: UInt64] = [:]
                for i in c.run.samples {
                    let s = stacks.samples[samples[i].sample]
                    threads["\(s.comm)-\(s.tid)", default: 0] += s.valueNs
                }
                let sorted = threads.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
                return Row(state: state, userFrames: c.user, kernelFrames: c.kernel, ns: c.run.ns, threads: sorted)
            }
        }
        return (out, totals, counts)
    }

    public func render(_ stacks: SymbolizedStacks, note: String? = nil) -> String {
        guard top > 0 else { return "" }
        let (byState, totals, counts) = ranked(stacks, limit: top)
        var out = ""
        let order: [ThreadState] = [.blocked, .sleep, .sleepUninterruptible, .runnable]
        for state in order {
            guard let rows = byState[state], !rows.isEmpty else { continue }
            let total = totals[state] ?? 0
            let distinct = counts[state] ?? rows.count
            out += fit("Top off-CPU stacks: \(Self.title(state)), \(DurationFormat.format(ns: total)) in all") + "\n"
            for (i, row) in rows.prefix(top).enumerated() {
                // Thread and frame names come from the traced program: sanitized for the terminal.
                let who = row.threads.count == 1 ? TerminalText.sanitize(row.threads[0])
                    : "\(row.threads.count) threads: "
                        + row.threads.prefix(3).map(TerminalText.sanitize).joined(separator: ", ")
                        + (row.threads.count > 3 ? ", …" : "")
                out += fit("  #\(i + 1)  \(pad(DurationFormat.format(ns: row.ns), 6))  \(pad(DurationFormat.percent(row.ns, of: total), 6))  \(who)") + "\n"
                for line in frameLines(row) { out += fit("        " + TerminalText.sanitize(line)) + "\n" }
            }
            if distinct > top { out += "  … \(distinct - top) more stacks (--top N, or --folded FILE for all)\n" }
            out += "\n"
        }
        if let note, !out.isEmpty { out += wrap(note) }
        return out
    }

    static func title(_ state: ThreadState) -> String {
        switch state {
        case .blocked: "blocked (futex waits)"
        case .sleep: "sleep"
        case .sleepUninterruptible: "sleep, uninterruptible (D)"
        case .runnable: "runnable (waiting for a CPU)"
        case .onCPU: "on-CPU"
        }
    }

    /// Leaf first: kernel frames (marked [k]) then user frames. Deep stacks lose the middle
    /// of their kernel part first (its ends, the leaf and the syscall entry, stay), then the
    /// middle of what is left: the user frames are what a reader looks for.
    func frameLines(_ row: Row) -> [String] {
        var kernel = row.kernelFrames.map { "\($0) [k]" }
        let user = row.userFrames
        if kernel.count + user.count > maxFrames && kernel.count > 3 {
            let keep = max(3, maxFrames - user.count)
            if keep < kernel.count {
                let head = (keep - 1) / 2 + (keep - 1) % 2, tail = (keep - 1) / 2
                kernel = Array(kernel.prefix(head)) + ["… \(kernel.count - head - tail) kernel frames …"]
                    + Array(kernel.suffix(tail))
            }
        }
        var lines = kernel + user
        if lines.isEmpty { lines = ["[no stack]"] }
        if lines.count > maxFrames {
            let head = maxFrames * 2 / 3, tail = maxFrames - head - 1
            lines = Array(lines.prefix(head)) + ["… \(lines.count - head - tail) frames …"] + Array(lines.suffix(tail))
        }
        return lines
    }

    func fit(_ line: String) -> String {
        line.count <= width ? line : String(line.prefix(width - 1)) + "…"
    }

    func wrap(_ text: String) -> String {
        var out = "", line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width { out += line + "\n"; line = "" }
            line += line.isEmpty ? String(word) : " " + word
        }
        return line.isEmpty ? out : out + line + "\n"
    }
}

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}
