import Foundation
import SwoffcpuCore
import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuSystem

/// Writes the report: the table and top stacks to stdout, files where asked.
/// Files are written atomically (temporary file, then rename): a reader never sees half a file.
struct ReportOutput: Sendable {
    let output: OutputOptions
    let stacks: StackOptions
    let locks: LockOptions
    /// The table (and top stacks, lock sections) also as a file, without colour (--output-dir).
    var textFile: String? = nil
    /// The table to stderr whatever goes to stdout: a command's stdout is its own (`-- COMMAND`).
    var textToStderr = false
    var timeline = TimelineOutput(options: TimelineOptions())
    var profile = ProfileOptions()
    /// -a: the top processes and threads by these states instead of the per-process table.
    var topStates: [SortState]? = nil
    /// --interval with --json -: the report as one line (after the interval lines).
    var jsonLine = false

    /// Every output file, checked as it will be written (a regular file or none, in a directory
    /// where a temporary file can be created).
    func checkPaths() throws {
        for path in [output.json, stacks.folded, stacks.flamegraph, locks.foldedWakers, locks.flamegraphWakers, textFile,
                     profile.pprof] + timeline.paths.map(Optional.some) {
            if let path { try AtomicFile.checkWritable(path) }
        }
    }

    func write(_ trace: ResolvedTrace) throws {
        let report = trace.report, symbolized = trace.stacks, lockReport = trace.locks
        let targetDescription = trace.targetDescription
        // At most one stream goes to stdout: the options' validation rejects more.
        let toStdout = [output.json, stacks.folded, stacks.flamegraph, locks.foldedWakers, locks.flamegraphWakers, profile.pprof]
            .contains("-")
        var files: [@Sendable () throws -> Void] = []
        let names = trace.report.timeline == nil ? TimelineNames() : TimelineNames(trace: trace)
        if let note = TimelineOutput.dropNote(trace.report.timeline) { Diagnostics.write(note) }
        if let path = output.json {
            files.append { try writeJSON(trace, names: names, to: path) }
        }
        if trace.report.timeline != nil {
            files.append { try timeline.writeFiles(trace, names: names) }
        }
        if stacks.folded != nil || stacks.flamegraph != nil {
            files.append { try writeStacks(report, symbolized, targetDescription) }
        }
        if let path = profile.pprof {
            files.append { try writePprof(trace, to: path) }
        }
        if locks.foldedWakers != nil || locks.flamegraphWakers != nil {
            files.append { try writeWakers(report, lockReport ?? LockReport(), targetDescription) }
        }
        // Each file is built and written (and synced) on a thread of its own while the text is
        // put together: a file's fsync waits while another is built.
        if let textFile {
            files.append {
                let text = renderText(report, symbolized, lockReport, targetDescription, color: false,
                                      unwindNote: trace.unwind?.note, extra: timeline.text(trace, names: names))
                try AtomicFile.write(text, to: textFile)
            }
        }
        try Concurrently.run(files) {
            let text = renderText(report, symbolized, lockReport, targetDescription, color: Self.useColor,
                                  unwindNote: trace.unwind?.note, extra: timeline.text(trace, names: names))
            if toStdout || textToStderr { Terminal.writeError(text) } else { print(text, terminator: "") }
        }
    }

    /// The table, the top stacks, the lock sections (--locks: those alone). With a machine-readable
    /// stream on stdout, they go to stderr.
    private func renderText(_ report: TraceReport, _ symbolized: SymbolizedStacks, _ lockReport: LockReport?,
                            _ targetDescription: String, color: Bool, unwindNote: String? = nil, extra: String = "") -> String {
        var text = locks.locks ? "" : topStates.map {
            TopTable(top: stacks.top).render(report, sorts: $0, title: "swoffcpu: \(DurationFormat.format(ns: report.windowNs)) window; target: \(targetDescription)")
        } ?? BreakdownTable(color: color, maxThreadsPerProcess: output.maxThreadRows,
                                  target: targetDescription, groupShortLived: output.threads != .all).render(report)
        if !locks.locks, let data = report.stacks {
            let listing = Log.timed("report: top stacks") {
                TopStacks(top: stacks.top).render(symbolized, note: Self.samplingNote(data) + (unwindNote.map { " " + $0 } ?? ""))
            }
            if !listing.isEmpty { text += "\n" + listing }
        }
        // The lock sections (docs/locks.md), after the table and stacks, or alone with --locks.
        if let lockReport {
            let section = LockText(top: stacks.top).render(lockReport, sampled: report.stacks?.isSampled ?? true,
                                                           stacksWalked: report.stacks != nil)
            if !section.isEmpty { text += (text.isEmpty ? "" : "\n") + section }
        }
        text += extra
        return text
    }

    private func writePprof(_ trace: ResolvedTrace, to path: String) throws {
        try Log.timed("report: pprof written") {
            let options = PprofWriter.Options(
                timeNanos: PprofWriter.epochNanos(ofMonotonic: trace.report.windowStartNs),
                comments: ["swoffcpu: \(trace.targetDescription)"])
            try PprofWriter(options: options).write(trace, to: path)
        }
    }

    private func writeJSON(_ trace: ResolvedTrace, names: TimelineNames, to path: String) throws {
        try Log.timed("report: JSON written") {
            var json = ReportJSON(trace: trace)
            for m in timeline.jsonMembers(trace, names: names).members { json.extraMembers[m.key] = m.value }
            if jsonLine { json.extraMembers["type"] = .string("report") } // the last line of the live stream
            try AtomicFile.write(to: path) { write in
                guard jsonLine else { return try json.write(to: write) }
                // One line: the stack sections break lines between elements even when not pretty;
                // a raw newline is never inside a JSON string (escaped), so dropping them is safe.
                try json.write(pretty: false) { bytes in try write(bytes.filter { $0 != UInt8(ascii: "\n") }) }
                try write([UInt8(ascii: "\n")])
            }
        }
    }

    /// --folded and --flamegraph, from one fold.
    private func writeStacks(_ report: TraceReport, _ symbolized: SymbolizedStacks, _ targetDescription: String) throws {
        let folded = Log.timed("report: stacks folded") {
            FoldedWriter(options: .init(includeThread: stacks.foldedThread)).fold(symbolized)
        }
        if let path = stacks.folded {
            try Log.timed("report: folded file written") { try AtomicFile.write(to: path) { write in try folded.write(to: write) } }
        }
        if let path = stacks.flamegraph {
            let total = symbolized.samples.reduce(0) { $0 + ($1.state.isOffCPU ? $1.valueNs : 0) }
            let onCPU = symbolized.samples.reduce(0) { $0 + ($1.state.isOffCPU ? 0 : $1.valueNs) }
            let sampledOnCPU = (report.stacks?.onCPUHz ?? 0) > 0
            let options = FlamegraphOptions(
                title: "\(sampledOnCPU ? "Wall-clock time, on- and off-CPU" : "Off-CPU time"): \(targetDescription)",
                subtitle: "window \(DurationFormat.format(ns: report.windowNs)) · "
                    + "\(report.processes.reduce(0) { $0 + $1.threads.count }) threads · "
                    + (sampledOnCPU ? "on-CPU \(DurationFormat.format(ns: onCPU)) (sampled at \(report.stacks?.onCPUHz ?? 0) Hz) · " : "")
                    + "off-CPU \(DurationFormat.format(ns: total))"
                    + ((report.stacks?.isSampled ?? false) ? " · stacks sampled, scaled to exact totals" : ""))
            try Log.timed("report: flamegraph written") {
                try AtomicFile.write(FlamegraphWriter(options: options).render(folded), to: path)
            }
        }
    }

    /// --folded-wakers and --flamegraph-wakers: waits with their releasers (offwaketime's layout).
    private func writeWakers(_ report: TraceReport, _ lockReport: LockReport, _ targetDescription: String) throws {
        let folded = WakerFolded(includeThread: stacks.foldedThread)
        if let path = locks.foldedWakers { try AtomicFile.write(folded.render(lockReport), to: path) }
        if let path = locks.flamegraphWakers {
            let result = folded.fold(lockReport)
            let options = FlamegraphOptions(
                title: "Futex waits and their wakers: \(targetDescription)",
                subtitle: "waiter stack below --, waker stack above (upside down) · window "
                    + DurationFormat.format(ns: report.windowNs) + " · wait ended "
                    + DurationFormat.format(ns: result.summary.totalNs)
                    + ((report.stacks?.isSampled ?? true) ? " · sampled, weighted (--all-stacks: every wait)" : ""))
            try AtomicFile.write(FlamegraphWriter(options: options).render(result), to: path)
        }
    }

    static var useColor: Bool {
        ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true ? Terminal.stdoutIsTerminal : false
    }

    /// Says how the stacks were obtained, and what could not be recorded.
    static func samplingNote(_ data: StackData) -> String {
        var note = "Stacks: "
        if data.isSampled {
            note += "walked at \(data.walks) of \(data.switchOuts) switch-outs (every switch-out of a thread "
                + "idle for \(data.walkPeriodNs / 1_000_000) ms, else 1 in \(data.walkOneIn), at random); "
                + "times are scaled to the exact state totals (--all-stacks walks every switch-out)."
        } else {
            note += "walked at every switch-out (\(data.walks))."
        }
        if data.stacksDropped + data.stackTimeDropped > 0 {
            note += " Not recorded, maps full: \(data.stacksDropped) stacks, \(data.stackTimeDropped) intervals"
                + " (shown as [lost: …]; --max-stacks N)."
        }
        if data.stacksNotStored > 0 {
            note += " \(data.stacksNotStored) walked stacks not stored (kernel allocation failed or map busy;"
                + " shown as [lost: stack not stored])."
        }
        return note
    }
}
