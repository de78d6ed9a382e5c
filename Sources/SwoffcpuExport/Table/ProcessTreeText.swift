import SwoffcpuCore

/// The process tree in the table (--follow, `-- COMMAND`): where a process sits (indented under
/// its parent), who its parent is, when it was born and how it exited, and its command line.
enum ProcessTreeText {
    /// Depth of each process in the report's tree (0: root); empty when no process has lineage.
    static func depths(_ report: TraceReport) -> [Int32: Int] {
        guard report.processes.contains(where: { $0.lineage != nil }) else { return [:] }
        var depths: [Int32: Int] = [:]
        for (p, depth) in report.processTree() { depths[p.pid] = depth }
        return depths
    }

    /// The indentation of a process at `depth`: "└ " under its parent, two columns a level.
    static func indent(_ depth: Int) -> String {
        depth == 0 ? "" : String(repeating: "  ", count: depth - 1) + "└ "
    }

    /// What the process line says in parentheses before its exit: "child of PPID", its birth.
    static func parentNotes(_ lineage: ProcessLineage, windowStartNs: UInt64) -> [String] {
        var notes: [String] = []
        if let ppid = lineage.ppid { notes.append("child of \(ppid)") }
        if let born = lineage.bornNs {
            notes.append("born \(DurationFormat.format(ns: born - min(born, windowStartNs))) into the window")
        }
        return notes
    }

    /// The command line under the process line, sanitized and cut to fit a terminal line.
    static func commandLine(_ lineage: ProcessLineage, depth: Int) -> String? {
        guard let line = lineage.commandLine else { return nil }
        let pad = String(repeating: " ", count: depth == 0 ? 2 : 2 * depth + 2)
        return pad + "$ " + TerminalText.truncate(TerminalText.sanitize(line), to: 120)
    }
}
