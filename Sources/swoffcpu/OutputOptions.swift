import ArgumentParser

/// Where the report goes.
struct OutputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also write the report as JSON to FILE ('-': stdout, instead of the table).", valueName: "FILE"))
    var json: String?

    @Option(help: ArgumentHelp("Show at most N rows of threads per process in the table, the rest summed in one row; threads of one name created and exited in the window share a row. 'all': every thread, one row each.", valueName: "N|all"))
    var threads: ThreadRows = .count(40)

    /// `--threads N` or `--threads all`.
    enum ThreadRows: ExpressibleByArgument, Equatable {
        case count(Int)
        case all

        init?(argument: String) {
            if argument == "all" { self = .all } else if let n = Int(argument) { self = .count(n) } else { return nil }
        }

        var defaultValueDescription: String {
            switch self {
            case .count(let n): "\(n)"
            case .all: "all"
            }
        }
    }

    var maxThreadRows: Int? {
        if case .count(let n) = threads { return n }
        return nil
    }

    func validate() throws {
        if case .count(let n) = threads, n < 1 { throw ValidationError("--threads must be at least 1, or 'all'") }
        if json == "" { throw ValidationError("--json needs a file name, or '-' for stdout") }
    }
}
