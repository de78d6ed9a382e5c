import ArgumentParser

/// Python programs: their own frames in the stacks (docs/python.md).
struct PythonOptions: ParsableArguments {
    @Flag(help: "Do not read the frames of CPython targets (3.10-3.13): native interpreter frames only.")
    var noPython = false
}
