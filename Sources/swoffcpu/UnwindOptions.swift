import ArgumentParser
import SwoffcpuBPF

/// How user stacks are unwound (docs/unwinding.md).
struct UnwindOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How user stacks are unwound: 'fp' frame pointers; 'dwarf' the binaries' .eh_frame, as tables in the kernel; 'auto' the tables, with frame pointers for callers in modules that keep them.",
        valueName: "fp|dwarf|auto"))
    var unwind: UnwindMode = .auto
}

extension UnwindMode: ExpressibleByArgument {}
