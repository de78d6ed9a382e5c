import Foundation
import SwoffcpuCore
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

@Suite struct FlamegraphWriterTests {
    private let stacks: [(frames: [String], value: UInt64)] = [
        (["blocked", "main", "Ledger.apply", "pthread_mutex_lock", "futex_wait_[k]"], 6_000),
        (["blocked", "main", "WorkQueue.pop", "pthread_cond_wait"], 3_000),
        (["sleep", "main", "epoll_wait"], 2_500),
        (["sleep-d", "Journal.flush", "fsync"], 1_000),
        (["runnable", "main", "Ledger.apply"], 400),
        (["blocked", "main"], 100),
    ]

    private func depth(_ frame: ParsedFlamegraph.Frame, in svg: ParsedFlamegraph) -> Int {
        let baseY = Int(svg.rootAttributes["data-base-y"]!)!
        let fh = Int(svg.rootAttributes["data-fh"]!)!
        return (baseY - Int(frame.rect["y"]!)!) / fh
    }

    /// Checks that the SVG is well-formed XML whose total (root attribute and root frame) is the sum of the inputs.
    @Test func validXMLWithTotal() throws {
        let svg = ParsedFlamegraph(FlamegraphWriter().render(stacks: stacks))
        #expect(svg.isValid, "\(String(describing: svg.error))")
        let sum = stacks.reduce(0) { $0 + $1.value }
        #expect(svg.rootAttributes["data-total"] == String(sum))
        #expect(svg.rootAttributes["xmlns"] == "http://www.w3.org/2000/svg")
        let root = try #require(svg.frames.first)
        #expect(svg.name(root) == "all")
        #expect(root.value == sum && root.x == 0)
        #expect(svg.scriptLength > 1_000)
    }

    /// Checks the layout: root at the bottom, each frame's children alphabetical, inside it and no wider,
    /// widths proportional to values.
    @Test func layout() throws {
        let writer = FlamegraphWriter()
        let svg = ParsedFlamegraph(writer.render(stacks: stacks))
        let frames = svg.frames
        let gw = Double(svg.rootAttributes["data-gw"]!)!
        let total = Double(frames[0].value)
        #expect(frames.map { svg.name($0) } == [
            "all", "blocked", "main", "Ledger.apply", "pthread_mutex_lock", "futex_wait_[k]", "WorkQueue.pop",
            "pthread_cond_wait", "runnable", "main", "Ledger.apply", "sleep", "main", "epoll_wait",
            "sleep-d", "Journal.flush", "fsync",
        ])
        // Depth-first order: each frame's parent is the last frame one row below.
        let bottom = frames.map { Double($0.rect["y"]!)! }.max()!
        var open: [(frame: ParsedFlamegraph.Frame, childSum: UInt64)] = []
        for frame in frames {
            let d = depth(frame, in: svg)
            #expect((d == 0) == (Double(frame.rect["y"]!)! == bottom))
            open = Array(open.prefix(d))
            if let parent = open.last?.frame {
                #expect(frame.x >= parent.x && frame.x + frame.value <= parent.x + parent.value)
                open[d - 1].childSum += frame.value
                #expect(open[d - 1].childSum <= parent.value)
            }
            let width = Double(frame.rect["width"]!)!
            let expected = Double(frame.value) / total * gw
            #expect(abs(width - (expected > 2 ? expected - 0.5 : expected)) < 0.01)
            open.append((frame, 0))
        }
    }

    /// Checks that names with XML specials and control characters are escaped and read back intact.
    @Test func specialCharacters() throws {
        let names = ["<script>alert(1)</script>", "a & b", "\"quoted\" 'single'", "std::map<K, V>::operator[]",
                     "]]>", "ctl\u{1}char", "naïve ü → ∑", "--> comment"]
        let input = names.enumerated().map { (frames: ["blocked", $0.element], value: UInt64(1_000 + $0.offset)) }
        let text = FlamegraphWriter().render(stacks: input)
        let svg = ParsedFlamegraph(text)
        #expect(svg.isValid, "\(String(describing: svg.error))")
        let parsedNames = Set(svg.frames.map { svg.name($0) })
        for name in names where name != "ctl\u{1}char" {
            #expect(parsedNames.contains(name), "\(name)")
        }
        #expect(parsedNames.contains("ctl char"))
        #expect(!text.contains("<script>alert"))
        #expect(text.components(separatedBy: "]]>").count == 2) // only the script's own CDATA end
    }

    /// Checks that rendering is deterministic: same bytes twice, and regardless of input order.
    @Test func deterministic() {
        let a = FlamegraphWriter().render(stacks: stacks)
        #expect(a == FlamegraphWriter().render(stacks: stacks))
        #expect(a == FlamegraphWriter().render(stacks: stacks.reversed()))
    }

    /// Checks that frames take their state's colour family, state frames a fixed colour, and kernel frames a paler tint.
    @Test func colours() {
        let svg = ParsedFlamegraph(FlamegraphWriter().render(stacks: stacks))
        func fill(_ name: String) -> String? {
            svg.frames.first { svg.name($0) == name }?.rect["fill"]
        }
        func rgb(_ fill: String?) -> (Int, Int, Int) {
            let parts = fill!.dropFirst(4).dropLast().split(separator: ",").map { Int($0)! }
            return (parts[0], parts[1], parts[2])
        }
        let blocked = rgb(fill("pthread_mutex_lock"))
        #expect(blocked.1 > blocked.0) // teal/green: more green than red
        let sleep = rgb(fill("epoll_wait"))
        #expect(sleep.2 > sleep.0 && sleep.2 > sleep.1) // blue
        let runnable = rgb(svg.frames.first { svg.name($0) == "Ledger.apply" && depth($0, in: svg) == 3 && $0.value == 400 }?.rect["fill"])
        #expect(runnable.0 > 180 && runnable.1 > 150 && runnable.2 < 120) // yellow
        let purple = rgb(fill("fsync"))
        #expect(purple.2 > purple.1 && purple.0 > purple.1)
        let kernel = rgb(fill("futex_wait_[k]"))
        let spread = { (c: (Int, Int, Int)) in max(c.0, c.1, c.2) - min(c.0, c.1, c.2) }
        #expect(spread(kernel) < spread(blocked)) // less saturated
        #expect(fill("blocked") == FlamegraphPalette.stateColor(.blocked))
        #expect(fill("all") == FlamegraphPalette.root)
    }

    /// Checks that the title, subtitle and a legend with each present state's total appear.
    @Test func titleAndLegend() {
        let options = FlamegraphOptions(title: "Off-CPU time: ledgerd (pid 42)", subtitle: "window 10.0s · 4 threads")
        let text = FlamegraphWriter(options: options).render(stacks: stacks)
        #expect(text.contains(">Off-CPU time: ledgerd (pid 42)</text>"))
        #expect(text.contains(">window 10.0s · 4 threads</text>"))
        let svg = ParsedFlamegraph(text)
        #expect(svg.legend.first == "Total 13.0ms")
        #expect(svg.legend.contains("blocked 9.10ms (70.0%)"))
        #expect(svg.legend.contains("sleep-d 1.00ms (7.7%)"))
        #expect(!svg.legend.contains { $0.hasPrefix("on-cpu") })
        #expect(svg.legend.contains("pale: kernel (_[k])"))
    }

    /// Checks that a frame's title carries its time, share of the total and share of its parent.
    @Test func frameDetails() throws {
        let svg = ParsedFlamegraph(FlamegraphWriter().render(stacks: stacks))
        let frame = try #require(svg.frames.first { svg.name($0) == "pthread_mutex_lock" })
        #expect(frame.title == "pthread_mutex_lock\n6.00ms, 46.2% of total, 100.0% of parent")
        let counts = ParsedFlamegraph(FlamegraphWriter(options: .init(unit: nil)).render(stacks: [(["a"], 3)]))
        #expect(counts.frames[1].title == "a\n3 samples, 100.0% of total, 100.0% of parent")
    }

    /// Checks that folded text renders like the stacks it holds, and that parse errors surface typed.
    @Test func foldedInput() throws {
        let folded = stacks.map { $0.frames.joined(separator: ";") + " \($0.value)" }.joined(separator: "\n")
        #expect(try FlamegraphWriter().render(folded: folded) == FlamegraphWriter().render(stacks: stacks))
        #expect(throws: FoldedParseError.missingValue(line: 1)) { try FlamegraphWriter().render(folded: "oops") }
    }

    /// Checks that no input gives a valid SVG with a zero total, and zero values are ignored.
    @Test func empty() {
        for input in [[], [(frames: ["blocked", "x"], value: UInt64(0))]] {
            let svg = ParsedFlamegraph(FlamegraphWriter().render(stacks: input))
            #expect(svg.isValid)
            #expect(svg.rootAttributes["data-total"] == "0")
            #expect(svg.frames.isEmpty)
        }
    }

    /// Checks that `write` stores the SVG atomically at the path.
    @Test func writeToFile() throws {
        let directory = try TestDirectory()
        let path = directory.path + "/graph.svg"
        let folded = stacks.map { FoldedStack(frames: $0.frames, value: $0.value) }
        let stats = try FlamegraphWriter().write(folded, to: path)
        #expect(stats.total == 13_000)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == FlamegraphWriter().render(folded))
    }
}
