import ArgumentParser

/// The entry point: `swoffcpu diff …` compares two runs (DiffCommand); anything else is a
/// trace (`Swoffcpu`). Dispatched on the first argument before parsing, so the trace's own
/// arguments (`-p PID …`, `-- COMMAND …`) parse exactly as before.
@main
enum Entry {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "diff" {
            DiffCommand.main(Array(arguments.dropFirst()))
        } else {
            Swoffcpu.main(ProfileOptions.normalize(arguments))
        }
    }
}
