import ArgumentParser

/// The whole wall-clock picture and pprof: on-CPU stack sampling, and the pprof profile.
/// See docs/pprof.md.
struct ProfileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write the stacks as a pprof profile (gzip'd profile.proto, for go tool pprof, Pyroscope, Parca) to FILE ('-': stdout).", valueName: "FILE"))
    var pprof: String?

    @Option(name: .customLong("on-cpu"),
            help: ArgumentHelp("Also sample on-CPU stacks, HZ times a second per CPU (--on-cpu alone: \(Self.defaultHz)), scaled to each thread's exact on-CPU time: folded stacks, flamegraph and pprof then show all four states.", valueName: "HZ"))
    var onCPUHz: UInt32?

    static let defaultHz: UInt32 = 49

    func validate() throws {
        if pprof == "" { throw ValidationError("--pprof needs a file name, or '-' for stdout") }
        if let onCPUHz, onCPUHz < 1 || onCPUHz > 10_000 {
            throw ValidationError("--on-cpu must be between 1 and 10000 samples a second, not \(onCPUHz)")
        }
    }

    /// `--on-cpu` without a value means `--on-cpu=49`: ArgumentParser has no option with an
    /// optional value, so the bare flag is rewritten before parsing (only before a `--`,
    /// after which the arguments are a command's).
    static func normalize(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var passThrough = false
        for argument in arguments {
            if passThrough {
                out.append(argument)
                continue
            }
            if argument == "--" { passThrough = true }
            out.append(argument == "--on-cpu" ? "--on-cpu=\(defaultHz)" : argument)
        }
        return out
    }
}
