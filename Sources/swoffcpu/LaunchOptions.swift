import Foundation
import Glibc
import SwoffcpuSystem
import ArgumentParser

/// A command to start traced (`-- COMMAND`), following new processes, and every output at once.
struct LaunchOptions: ParsableArguments {
    @Flag(name: [.customShort("f"), .long],
          help: "Also trace the processes the targets create (fork, vfork, clone, exec), from their birth; the report shows the process tree.")
    var follow = false

    @Option(help: ArgumentHelp("Write every output (table, JSON, folded stacks, flamegraphs) into DIR, under fixed names (docs/commands.md).", valueName: "DIR"),
            completion: .directory)
    var outputDir: String?

    @Argument(parsing: .postTerminator,
              help: ArgumentHelp("Start COMMAND traced from its first instruction, stop when it exits, exit with its status (after '--').", valueName: "COMMAND"))
    var command: [String] = []

    func validate() throws {
        if outputDir == "" { throw ValidationError("--output-dir needs a directory") }
    }
}

/// The names of the files `--output-dir` writes (docs/commands.md).
enum OutputDirectory {
    static let table = "report.txt"
    static let json = "report.json"
    static let folded = "offcpu.folded"
    static let flamegraph = "offcpu.svg"
    static let foldedWakers = "wakers.folded"
    static let flamegraphWakers = "wakers.svg"
}

extension LaunchOptions {
    /// Where the report goes: as the options say, and with --output-dir every output the
    /// options do not place themselves goes into DIR (created if need be) under its fixed name.
    /// With a command, the table goes to stderr: the command's stdout stays its own.
    func reportOutput(output: OutputOptions, stacks: StackOptions, locks: LockOptions) throws -> ReportOutput {
        var output = output, stacks = stacks, locks = locks
        var textFile: String?
        if let dir = outputDir {
            try OutputDirectory.create(dir)
            func path(_ name: String) -> String { dir.hasSuffix("/") ? dir + name : dir + "/" + name }
            textFile = path(OutputDirectory.table)
            if output.json == nil { output.json = path(OutputDirectory.json) }
            if stacks.enabled {
                if stacks.folded == nil { stacks.folded = path(OutputDirectory.folded) }
                if stacks.flamegraph == nil { stacks.flamegraph = path(OutputDirectory.flamegraph) }
                if locks.foldedWakers == nil { locks.foldedWakers = path(OutputDirectory.foldedWakers) }
                if locks.flamegraphWakers == nil { locks.flamegraphWakers = path(OutputDirectory.flamegraphWakers) }
            }
        }
        var result = ReportOutput(output: output, stacks: stacks, locks: locks)
        result.textFile = textFile
        result.textToStderr = !command.isEmpty
        return result
    }
}

extension OutputDirectory {
    /// Creates DIR (and its parents) if missing; under sudo, what it creates belongs to the
    /// invoking user (`AtomicFile.owner`).
    static func create(_ dir: String) throws {
        var st = stat()
        if stat(dir, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw OutputDirectoryError(path: dir, errno: ENOTDIR) }
            return
        }
        let parent = (dir as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != dir { try create(parent) }
        if mkdir(dir, 0o777) != 0 && errno != EEXIST { throw OutputDirectoryError(path: dir, errno: errno) }
        if let owner = AtomicFile.owner { _ = chown(dir, owner.uid, owner.gid) }
    }
}

struct OutputDirectoryError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32
    var description: String { "cannot create the output directory '\(path)': \(String(cString: strerror(errno)))" }
}
