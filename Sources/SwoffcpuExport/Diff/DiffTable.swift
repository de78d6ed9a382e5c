import SwoffcpuCore

/// The text `swoffcpu diff` prints: the states' totals before and after, then the stacks
/// whose time changed most.
public struct DiffTable: Sendable {
    public var top: Int
    /// At most this many frames of a stack are printed: the root and the leaf-most ones.
    public var maxFrames: Int

    public init(top: Int = 10, maxFrames: Int = 12) {
        self.top = top
        self.maxFrames = maxFrames
    }

    public func render(_ diff: StackDiff, beforeName: String, afterName: String) -> String {
        var out = "swoffcpu diff: \(beforeName) (\(Self.time(diff.beforeTotal))) -> \(afterName) (\(Self.time(diff.afterTotal)))"
        out += diff.normalized ? "; before scaled to the same total (--normalize): shares compared\n" : "\n"
        out += "\n" + Self.row("root (state)", "before", "after", "change", "") + "\n"
        for r in diff.roots {
            out += Self.row(r.frames[0], Self.time(r.before), Self.time(r.after), Self.signed(r.delta), Self.percent(r)) + "\n"
        }
        let changed = diff.mostChanged(top)
        out += "\nStacks that changed most (\(changed.count) of \(diff.lines.filter { $0.delta != 0 }.count) that changed), largest first:\n"
        for (i, l) in changed.enumerated() {
            out += "  #\(i + 1)  \(Self.signed(l.delta)) \(Self.percent(l))  \(Self.time(l.before)) -> \(Self.time(l.after))\n"
            out += "      " + shortened(l.frames).joined(separator: ";") + "\n"
        }
        return out
    }

    /// The frames to print: the kernel frames (`_[k]`) but the leaf folded into a count, then,
    /// if still too many, the middle of the user frames: the application's path stays visible.
    func shortened(_ frames: [String]) -> [String] {
        var out = frames
        let kernel = frames.indices.filter { frames[$0].hasSuffix(FoldedWriter.kernelSuffix) }
        if kernel.count > 2, let first = kernel.first {
            out = Array(frames[..<first]) + ["…\(kernel.count - 1) kernel frames…", frames[kernel.last!]]
        }
        guard out.count > maxFrames, maxFrames >= 4 else { return out }
        let keepTail = maxFrames - 3
        return [out[0], out[1], "…\(out.count - 2 - keepTail) frames…"] + out.suffix(keepTail)
    }

    static func row(_ name: String, _ before: String, _ after: String, _ change: String, _ percent: String) -> String {
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        let label = name.count > 20 ? String(name.prefix(19)) + "…" : name
        return "  " + label + String(repeating: " ", count: max(0, 20 - label.count)) + pad(before, 10) + pad(after, 10)
            + pad(change, 11) + " " + pad(percent, 10)
    }

    static func time(_ ns: Double) -> String {
        DurationFormat.format(ns: UInt64(max(0, ns.rounded())))
    }

    static func signed(_ ns: Double) -> String {
        (ns >= 0 ? "+" : "-") + time(abs(ns))
    }

    static func percent(_ l: StackDiff.Line) -> String {
        guard l.before > 0 else { return "(new)" }
        guard l.after > 0 else { return "(gone)" }
        let p = 100 * l.delta / l.before
        let tenths = Int((abs(p) * 10).rounded())
        return "(\(p >= 0 ? "+" : "-")\(tenths / 10).\(tenths % 10)%)"
    }
}
