import SwoffcpuCore
import SwoffcpuSystem

/// How a flame graph looks. See docs/flamegraph.md.
public struct FlamegraphOptions: Sendable, Equatable {
    /// Large centred line at the top, e.g. "Off-CPU time: postgres (pid 4242)".
    public var title: String
    /// Second line, e.g. "window 10.0s · 8 threads · total 80.0s"; none when nil or empty.
    public var subtitle: String?
    /// Image width, px.
    public var width: Int
    /// Height of one frame row, px.
    public var frameHeight: Int
    /// Font size of frame labels, px.
    public var fontSize: Double
    /// Frames narrower than this (px, at full zoom-out) are merged with their thin siblings into one
    /// "[N small frames]" frame, or hidden when even that is thinner.
    public var minFrameWidth: Double
    /// Unit of the input values, for the times shown; nil when they are plain counts.
    public var unit: FoldedTimeUnit?
    /// What a count is called when `unit` is nil.
    public var countName: String
    /// Name of the bottom frame that spans everything.
    public var rootName: String

    public init(title: String = "Off-CPU Flame Graph", subtitle: String? = nil, width: Int = 1200,
                frameHeight: Int = 16, fontSize: Double = 12, minFrameWidth: Double = 1,
                unit: FoldedTimeUnit? = .microseconds, countName: String = "samples", rootName: String = "all") {
        self.title = title
        self.subtitle = subtitle
        self.width = width
        self.frameHeight = frameHeight
        self.fontSize = fontSize
        self.minFrameWidth = minFrameWidth
        self.unit = unit
        self.countName = countName
        self.rootName = rootName
    }
}

/// A rendered flame graph.
public struct FlamegraphDocument: Sendable {
    /// The SVG file's text.
    public var svg: String
    public var stats: FlamegraphStats
}

/// Renders stacks as an interactive flame graph: one self-contained SVG file (inline <style> and
/// <script>, no external resources) in which hovering shows a frame's time and shares, clicking zooms,
/// and Search highlights matching frames. The output is a function of its input and options only.
///
/// Each frame is a `<g data-x data-v>` in `<g id="frames">` (data-x: left edge, data-v: value, both
/// in input units), holding a `<title>` (name, newline, details), a `<rect>` and, when the label fits,
/// a `<text>`. The root `<svg>` carries `data-total`, the sum of the input values.
public struct FlamegraphWriter: Sendable {
    public var options: FlamegraphOptions
    /// Colours frames by how their time changed between two runs instead of by state
    /// (`swoffcpu diff`, DiffFlamegraph.swift).
    public var differential: FlamegraphDifferential?

    public init(options: FlamegraphOptions = FlamegraphOptions()) {
        self.options = options
    }

    public func document(stacks: [(frames: [String], value: UInt64)]) -> FlamegraphDocument {
        var table = StackTable()
        let lines = stacks.map { FoldedResult.Line(body: table.add(names: $0.frames), value: $0.value) }
        return document(table: table, lines: lines)
    }

    /// Folded lines; a differential line counts with its first value.
    public func document(_ stacks: [FoldedStack]) -> FlamegraphDocument {
        document(stacks: stacks.map { (frames: $0.frames, value: $0.value) })
    }

    /// The lines of a fold, by their frame indices (no names joined or split).
    public func document(_ folded: FoldedResult) -> FlamegraphDocument {
        document(table: folded.frames, lines: folded.lines)
    }

    private func document(table: StackTable, lines: [FoldedResult.Line]) -> FlamegraphDocument {
        let layout = FlamegraphLayout(table: table, lines: lines, rootName: options.rootName,
                                      graphWidth: graphWidth, minFrameWidth: options.minFrameWidth)
        return FlamegraphDocument(svg: svg(layout), stats: layout.stats)
    }

    public func render(stacks: [(frames: [String], value: UInt64)]) -> String {
        document(stacks: stacks).svg
    }

    public func render(_ stacks: [FoldedStack]) -> String {
        document(stacks).svg
    }

    public func render(_ folded: FoldedResult) -> String {
        document(folded).svg
    }

    /// Parses folded text (see `FoldedParser`) and renders it.
    public func render(folded text: String) throws(FoldedParseError) -> String {
        render(try FoldedParser().parse(text))
    }

    /// Renders and writes atomically to `path` (`-`: standard output).
    @discardableResult
    public func write(_ stacks: [FoldedStack], to path: String) throws(AtomicFileError) -> FlamegraphStats {
        let document = document(stacks)
        try AtomicFile.write(document.svg, to: path)
        return document.stats
    }

    // MARK: - Geometry

    private static let padding = 10.0
    private var width: Double { Double(max(options.width, 200)) }
    private var graphWidth: Double { width - 2 * Self.padding }
    private var frameHeight: Int { max(options.frameHeight, 6) }
    private var fontSize: Double { max(options.fontSize, 4) }
    /// Estimated average glyph width of the label font (Verdana-like); the script measures the real one.
    private var charWidth: Double { fontSize * 0.59 }
    private var textDy: Double { (Double(frameHeight - 1) / 2 + fontSize * 0.35).rounded() }

    // MARK: - SVG

    private func svg(_ layout: FlamegraphLayout) -> String {
        let n = FlamegraphText.number
        let esc = FlamegraphText.escape
        let hasSubtitle = !(options.subtitle ?? "").isEmpty
        let legendY = hasSubtitle ? 66.0 : 48.0
        let framesTop = Int(legendY) + 16
        let rows = layout.total > 0 ? layout.maxDepth + 1 : 0
        let baseY = framesTop + (rows - 1) * frameHeight // y of the root row
        let statusY = framesTop + rows * frameHeight + 18
        let height = statusY + 10
        let maxChars = Int(width / (charWidth + 0.5))

        var out = ""
        out.reserveCapacity(256 * layout.frames.count + 16_384)
        out += "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        out += "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width, 2))\" height=\"\(height)\""
        out += " viewBox=\"0 0 \(n(width, 2)) \(height)\""
        out += " data-total=\"\(layout.total)\" data-unit-ns=\"\(options.unit?.nanoseconds ?? 0)\""
        out += " data-count-name=\"\(esc(options.countName))\" data-gx=\"\(n(Self.padding, 2))\" data-gw=\"\(n(graphWidth, 2))\""
        out += " data-fh=\"\(frameHeight)\" data-base-y=\"\(baseY)\" data-text-dy=\"\(n(textDy, 2))\""
        out += " data-font-size=\"\(n(fontSize, 2))\" data-min-width=\"\(n(options.minFrameWidth, 2))\">\n"
        let s = layout.stats
        out += "<!-- swoffcpu flame graph: \(s.stacks) stacks, \(s.nodes) distinct frames, \(s.drawnFrames) drawn,"
        out += " \(s.mergedFrames) merged into \(s.mergedGroups), \(s.hiddenFrames) hidden (thinner than"
        out += " \(n(options.minFrameWidth, 2)) px) -->\n"
        out += "<style>\(FlamegraphStyle.css(fontSize: fontSize))</style>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"rgb(250,250,248)\"/>\n"
        out += "<text id=\"title\" x=\"\(n(width / 2, 2))\" y=\"24\">\(esc(FlamegraphText.truncate(options.title, to: Int(width / 10))))</text>\n"
        if hasSubtitle {
            out += "<text id=\"subtitle\" x=\"\(n(width / 2, 2))\" y=\"44\">\(esc(FlamegraphText.truncate(options.subtitle!, to: maxChars)))</text>\n"
        }
        out += "<text id=\"reset\" class=\"ctl hidden\" x=\"\(n(Self.padding, 2))\" y=\"24\">Reset Zoom</text>\n"
        out += "<text id=\"search\" class=\"ctl\" x=\"\(n(width - Self.padding, 2))\" y=\"24\">Search</text>\n"
        out += legend(layout, y: legendY)
        out += "<g id=\"frames\">\n"
        var path: [String] = [] // names from depth 1 to the frame's, for `differential`
        for frame in layout.frames {
            var change: (fill: String, details: String)?
            if let differential, frame.depth > 0 {
                path.removeSubrange(min(path.count, frame.depth - 1)...)
                path.append(frame.name)
                if frame.mergedCount == 0 { change = differential.change(path: path.joined(separator: ";")) }
            }
            out += frameElement(frame, layout: layout, baseY: baseY, change: change)
        }
        if layout.total == 0 {
            out += "<text x=\"\(n(width / 2, 2))\" y=\"\(framesTop + 14)\" text-anchor=\"middle\">No samples</text>\n"
        }
        out += "</g>\n"
        let hint = "Hover a frame for details; click to zoom; Ctrl-F or / to search; Esc to reset."
        out += "<text id=\"details\" x=\"\(n(Self.padding, 2))\" y=\"\(statusY)\">\(esc(hint))</text>\n"
        out += "<text id=\"matched\" x=\"\(n(width - Self.padding, 2))\" y=\"\(statusY)\"></text>\n"
        out += "<script type=\"text/ecmascript\"><![CDATA[\n\(FlamegraphScript.source)]]></script>\n"
        out += "</svg>\n"
        return out
    }

    private func frameElement(_ frame: FlamegraphLayout.Frame, layout: FlamegraphLayout, baseY: Int,
                              change: (fill: String, details: String)? = nil) -> String {
        let n = FlamegraphText.number
        let scale = graphWidth / Double(layout.total)
        let x = Self.padding + Double(frame.offset) * scale
        let w = Double(frame.value) * scale
        let y = baseY - frame.depth * frameHeight
        var fill: String
        if let change {
            fill = change.fill
        } else if frame.mergedCount > 0 {
            fill = FlamegraphPalette.merged
        } else if frame.depth == 0 {
            fill = FlamegraphPalette.root
        } else if frame.depth == 1 && frame.family != .other {
            fill = FlamegraphPalette.stateColor(frame.family)
        } else if frame.name == FlamegraphPalette.gilFrame {
            fill = FlamegraphPalette.gil
        } else {
            fill = FlamegraphPalette.color(name: frame.name, family: frame.family,
                                           kernel: frame.name.hasSuffix(FoldedWriter.kernelSuffix))
        }
        var details = "\(time(frame.value)), \(DurationFormat.percent(frame.value, of: layout.total)) of total"
        if frame.depth > 0 {
            details += ", \(DurationFormat.percent(frame.value, of: frame.parentValue)) of parent"
        }
        if frame.mergedCount > 0 {
            details += "; \(frame.mergedCount) frames each narrower than \(n(options.minFrameWidth, 2)) px, merged"
        }
        if let change { details += "; " + change.details }
        var out = "<g data-x=\"\(frame.offset)\" data-v=\"\(frame.value)\""
        if frame.mergedCount > 0 { out += " data-m=\"\(frame.mergedCount)\"" }
        out += "><title>\(FlamegraphText.escape(frame.name))\n\(details)</title>"
        out += "<rect x=\"\(n(x, 2))\" y=\"\(y)\" width=\"\(n(w > 2 ? w - 0.5 : w, 2))\" height=\"\(frameHeight - 1)\" fill=\"\(fill)\"/>"
        let label = FlamegraphText.label(frame.name, width: w, charWidth: charWidth)
        if !label.isEmpty {
            out += "<text x=\"\(n(x + 3, 2))\" y=\"\(n(Double(y) + textDy, 2))\">\(FlamegraphText.escape(label))</text>"
        }
        out += "</g>\n"
        return out
    }

    /// "Total 1.23s" then one swatch per state present (canonical order), then notes.
    private func legend(_ layout: FlamegraphLayout, y: Double) -> String {
        let n = FlamegraphText.number
        let esc = FlamegraphText.escape
        var items: [(swatch: String?, text: String, state: String?)] = []
        items.append((nil, "Total \(time(layout.total))", nil))
        let roots = layout.frames.filter { $0.depth == 1 && $0.mergedCount == 0 }
        for item in differential?.legend ?? [] { items.append((item.swatch, item.text, nil)) }
        for state in ThreadState.allCases where differential == nil {
            guard let frame = roots.first(where: { $0.name == state.name }) else { continue }
            items.append((FlamegraphPalette.stateColor(frame.family),
                          "\(state.name) \(time(frame.value)) (\(DurationFormat.percent(frame.value, of: layout.total)))",
                          state.name))
        }
        if differential == nil, layout.frames.contains(where: { $0.name.hasSuffix(FoldedWriter.kernelSuffix) }) {
            items.append((FlamegraphPalette.color(name: "kernel", family: .sleep, kernel: true), "pale: kernel (_[k])", nil))
        }
        let gil = layout.frames.filter { $0.name == FlamegraphPalette.gilFrame }.reduce(UInt64(0)) { $0 + $1.value }
        if gil > 0 { items.append((FlamegraphPalette.gil, "[GIL]: waiting for the Python GIL \(time(gil))", nil)) }
        if layout.stats.mergedGroups > 0 || layout.stats.hiddenFrames > 0 {
            items.append((FlamegraphPalette.merged, "frames < \(n(options.minFrameWidth, 2)) px merged", nil))
        }
        var out = "<g id=\"legend\">\n"
        var x = Self.padding
        for item in items {
            out += "<g class=\"li\" transform=\"translate(\(n(x, 1)),0)\""
            if let state = item.state { out += " data-state=\"\(esc(state))\"" }
            out += ">"
            var textX = 0.0
            if let swatch = item.swatch {
                out += "<rect x=\"0\" y=\"\(n(y - 10, 2))\" width=\"12\" height=\"12\" fill=\"\(swatch)\"/>"
                textX = 16
            }
            out += "<text x=\"\(n(textX, 2))\" y=\"\(n(y, 2))\">\(esc(item.text))</text></g>\n"
            x += textX + Double(item.text.count) * 7.2 + 18
        }
        out += "</g>\n"
        return out
    }

    private func time(_ value: UInt64) -> String {
        guard let unit = options.unit else { return "\(value) \(options.countName)" }
        let (ns, overflow) = value.multipliedReportingOverflow(by: unit.nanoseconds)
        return DurationFormat.format(ns: overflow ? .max : ns)
    }
}
