import ArgumentParser
import Foundation
import SwoffcpuExport
import SwoffcpuSystem

/// `swoffcpu diff BEFORE AFTER`: what changed between two runs. See docs/diff.md.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swoffcpu diff",
        abstract: "Compare two runs: a differential flamegraph and the stacks and states that changed most.",
        discussion: """
        BEFORE and AFTER are folded stacks (swoffcpu --folded, or any flamegraph.pl input) \
        or swoffcpu JSON reports (--json, with stacks). The flamegraph's frames are as wide \
        as their time AFTER, red where it grew since BEFORE, blue where it shrank \
        (Brendan Gregg's differential flame graphs).

        EXAMPLES
          swoffcpu diff before.folded after.folded --flamegraph diff.svg
          swoffcpu diff before.json after.json --normalize --top 5
        """
    )

    @Argument(help: ArgumentHelp("The first run: folded stacks or a JSON report.", valueName: "BEFORE"))
    var before: String

    @Argument(help: ArgumentHelp("The second run.", valueName: "AFTER"))
    var after: String

    @Option(help: ArgumentHelp("Write the differential flamegraph (self-contained SVG) to FILE.", valueName: "FILE"))
    var flamegraph: String?

    @Flag(help: "Scale BEFORE to AFTER's total: compare shares, not absolute times (runs of different lengths).")
    var normalize = false

    @Option(help: ArgumentHelp("Show the N stacks that changed most.", valueName: "N"))
    var top: Int = 10

    @Option(help: ArgumentHelp("Unit of the counts in folded inputs: us (swoffcpu's), ns, ms.", valueName: "UNIT"))
    var unit: String = "us"

    func validate() throws {
        if top < 0 { throw ValidationError("--top must be 0 or more") }
        if FoldedTimeUnit(rawValue: unit) == nil { throw ValidationError("--unit must be us, ns or ms, not '\(unit)'") }
        if flamegraph == "" { throw ValidationError("--flamegraph needs a file name") }
    }

    func run() throws {
        do {
            if let flamegraph { try AtomicFile.checkWritable(flamegraph) }
            let unit = FoldedTimeUnit(rawValue: unit) ?? .microseconds
            let diff = StackDiff(before: try DiffInput.read(path: before, unit: unit),
                                 after: try DiffInput.read(path: after, unit: unit), normalize: normalize)
            if let flamegraph {
                let subtitle = "\(before) -> \(after)" + (normalize ? " · before scaled to after's total" : "")
                    + " · width: after · red grew, blue shrank"
                try AtomicFile.write(DiffFlamegraph(title: "Differential flame graph", subtitle: subtitle).render(diff),
                                     to: flamegraph)
            }
            print(DiffTable(top: top).render(diff, beforeName: before, afterName: after), terminator: "")
        } catch {
            Terminal.writeError("swoffcpu: error: \(error)\n")
            DiffCommand.exit(withError: ExitCode(1))
        }
    }
}
