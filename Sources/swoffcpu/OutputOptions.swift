import ArgumentParser

/// Where the report goes.
struct OutputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also write the report as JSON to FILE ('-': stdout, instead of the table).", valueName: "FILE"))
    var json: String?

    @Option(help: ArgumentHelp("Show at most N threads per process in the table; the rest are summed in one row.", valueName: "N"))
    var threads: Int = 40

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if json == "" { throw ValidationError("--json needs a file name, or '-' for stdout") }
    }
}
