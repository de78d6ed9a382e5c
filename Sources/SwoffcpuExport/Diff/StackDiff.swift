import Foundation
import SwoffcpuCore

/// Two runs' stacks side by side: per stack (root first, as in a folded file) its time before
/// and after, in nanoseconds. What `swoffcpu diff` draws (`DiffFlamegraph`) and tabulates
/// (`DiffTable`). See docs/diff.md.
public struct StackDiff: Sendable {
    public struct Line: Sendable, Equatable {
        public var frames: [String]
        public var before: Double
        public var after: Double
        public var delta: Double { after - before }
    }

    /// Every stack of either run, in byte order of its frames.
    public private(set) var lines: [Line]
    /// Totals as read (before any normalization).
    public let beforeTotal: Double
    public let afterTotal: Double
    /// Whether `before` was scaled to `afterTotal` (`--normalize`: difffolded's `-n`), so the
    /// shares are compared rather than the absolute times.
    public let normalized: Bool

    /// `before` and `after`: frames root first and values in ns.
    public init(before: [(frames: [String], ns: Double)], after: [(frames: [String], ns: Double)], normalize: Bool) {
        var sums: [[String]: (Double, Double)] = [:]
        var beforeTotal = 0.0, afterTotal = 0.0
        for s in before where !s.frames.isEmpty {
            sums[s.frames, default: (0, 0)].0 += s.ns
            beforeTotal += s.ns
        }
        for s in after where !s.frames.isEmpty {
            sums[s.frames, default: (0, 0)].1 += s.ns
            afterTotal += s.ns
        }
        let scale = normalize && beforeTotal > 0 ? afterTotal / beforeTotal : 1
        lines = sums.map { Line(frames: $0.key, before: $0.value.0 * scale, after: $0.value.1) }
        lines.sort { utf8Precedes($0.frames.joined(separator: ";"), $1.frames.joined(separator: ";")) }
        self.beforeTotal = beforeTotal
        self.afterTotal = afterTotal
        normalized = normalize && beforeTotal > 0
    }

    /// The stacks whose time changed most, largest change (either way) first.
    public func mostChanged(_ n: Int) -> [Line] {
        Array(lines.filter { $0.delta != 0 }.sorted { abs($0.delta) != abs($1.delta) ? abs($0.delta) > abs($1.delta)
            : utf8Precedes($0.frames.joined(separator: ";"), $1.frames.joined(separator: ";")) }.prefix(n))
    }

    /// Per root frame (the state in swoffcpu's files): before, after, largest change first.
    public var roots: [Line] {
        var sums: [String: (Double, Double)] = [:]
        for l in lines {
            sums[l.frames[0], default: (0, 0)].0 += l.before
            sums[l.frames[0], default: (0, 0)].1 += l.after
        }
        return sums.map { Line(frames: [$0.key], before: $0.value.0, after: $0.value.1) }
            .sorted { abs($0.delta) != abs($1.delta) ? abs($0.delta) > abs($1.delta) : $0.frames[0] < $1.frames[0] }
    }

    /// Before and after of every prefix of every stack (each frame of the merged call tree),
    /// keyed by the frames joined with `;`.
    public var prefixSums: [String: (before: Double, after: Double)] {
        var sums: [String: (before: Double, after: Double)] = [:]
        for l in lines {
            var key = ""
            for (i, f) in l.frames.enumerated() {
                key += i == 0 ? f : ";" + f
                sums[key, default: (0, 0)].before += l.before
                sums[key, default: (0, 0)].after += l.after
            }
        }
        return sums
    }
}

/// Why an input of `swoffcpu diff` could not be read.
public enum DiffInputError: Error, CustomStringConvertible, Sendable {
    case unreadable(path: String, reason: String)
    case folded(path: String, FoldedParseError)
    case json(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): \(reason)"
        case .folded(let path, let e): "\(path): \(e)"
        case .json(let path, let reason): "\(path): not a swoffcpu JSON report with stacks: \(reason)"
        }
    }
}

/// Reads one side of a diff: a folded file (values in `unit`), or a swoffcpu JSON report
/// (its `stacks`, folded as `--folded` folds them: state, user frames, kernel frames `_[k]`).
public enum DiffInput {
    public static func read(path: String, unit: FoldedTimeUnit) throws(DiffInputError) -> [(frames: [String], ns: Double)] {
        let data: Data
        guard FileManager.default.fileExists(atPath: path) else { throw .unreadable(path: path, reason: "no such file") }
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        if data.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) == UInt8(ascii: "{") {
            return try json(data, path: path)
        }
        do {
            let stacks = try FoldedParser().parse(data: data)
            return stacks.map { (frames: $0.frames, ns: Double($0.value) * Double(unit.nanoseconds)) }
        } catch {
            throw .folded(path: path, error)
        }
    }

    static func json(_ data: Data, path: String) throws(DiffInputError) -> [(frames: [String], ns: Double)] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .json(path: path, reason: "not a JSON object")
        }
        guard let names = object["stack_frames"] as? [String], let table = object["stack_table"] as? [[Int]],
              let entries = object["stacks"] as? [[String: Any]] else {
            throw .json(path: path, reason: "no stack_frames, stack_table and stacks (traced with --no-stacks?)")
        }
        func frames(_ i: Int?) -> [String] {
            guard let i, i >= 0, i < table.count else { return [] }
            return table[i].compactMap { $0 >= 0 && $0 < names.count ? FoldedWriter.sanitize(frame: names[$0]) : nil }
        }
        var out: [(frames: [String], ns: Double)] = []
        out.reserveCapacity(entries.count)
        for e in entries {
            guard let state = e["state"] as? String, let ns = (e["ns"] as? NSNumber)?.doubleValue else { continue }
            let user = frames((e["user_stack"] as? NSNumber)?.intValue).reversed()
            let kernel = frames((e["kernel_stack"] as? NSNumber)?.intValue).reversed().map {
                $0.hasSuffix(FoldedWriter.kernelSuffix) ? $0 : $0 + FoldedWriter.kernelSuffix
            }
            out.append((frames: [state] + user + kernel, ns: ns))
        }
        return out
    }
}
