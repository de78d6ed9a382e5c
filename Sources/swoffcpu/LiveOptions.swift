import ArgumentParser
import SwoffcpuCore

/// The live view (`--interval`) and the order of top tables (`--sort`, also for -a).
struct LiveOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Show a live, top-like table every SECONDS: processes and threads by the --sort state over the last interval; with --json -, one JSON object per interval per line. Ctrl-C then prints the whole-window report.",
        valueName: "SECONDS"))
    var interval: Double?

    @Option(help: ArgumentHelp(
        "Order of the live view and of -a's report: on-cpu, runnable, sleep, blocked or off-cpu (default: on-cpu live; -a's report shows each state).",
        valueName: "STATE"))
    var sort: String?

    var sortState: SortState? { sort.flatMap { SortState(rawValue: $0) } }

    func validate() throws {
        if let sort, SortState(rawValue: sort) == nil {
            throw ValidationError("--sort must be one of \(SortState.allCases.map(\.rawValue).joined(separator: ", ")), not '\(sort)'")
        }
        if let interval, !(interval >= 0.1 && interval <= 86_400) {
            throw ValidationError("--interval must be between 0.1 and 86400 seconds, not \(interval)")
        }
    }
}

extension LiveOptions {
    /// The live view for the trace, and the report's form: -a's top tables; with --interval
    /// and --json -, the report as the stream's last line.
    func configure(_ runner: inout TraceRunner, _ output: inout ReportOutput, all: Bool, top: Int) {
        if all { output.topStates = sortState.map { [$0] } ?? SortState.states }
        guard let interval else { return }
        let jsonLines = output.output.json == "-"
        output.jsonLine = jsonLines
        runner.live = LiveView(intervalSeconds: interval, sort: sortState ?? .onCPU, top: max(top, 10), jsonLines: jsonLines)
    }
}
