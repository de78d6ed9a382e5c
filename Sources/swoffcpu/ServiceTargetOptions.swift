import ArgumentParser
import SwoffcpuBPF
import SwoffcpuSystem

/// Targets beyond -p/-t: a cgroup (a service, a container) or the whole machine.
/// Part of the "Target" group (TargetOptions).
struct ServiceTargetOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Trace every task of this cgroup v2 and its descendants (e.g. /sys/fs/cgroup/system.slice/nginx.service), also tasks moved in or started there while tracing; a task moved out is counted up to the move (docs/live.md).",
        valueName: "PATH"))
    var cgroup: String?

    @Flag(name: [.customShort("a"), .customLong("all")],
          help: "Trace every task of the machine; the report shows the top processes and threads by each state (--top N, --sort STATE).")
    var all = false

    /// --cgroup or -a was given.
    var given: Bool { cgroup != nil || all }

    func validate() throws {
        if cgroup != nil && all { throw ValidationError("--cgroup and -a exclude each other: -a traces every task already") }
        if cgroup == "" { throw ValidationError("--cgroup needs the cgroup's directory, e.g. /sys/fs/cgroup/system.slice/NAME.service") }
    }

    /// The kernel side's target; the cgroup is resolved now (it must exist).
    func traceTarget() throws -> TraceTarget {
        if all { return .all }
        if let cgroup { return .cgroup(try CgroupV2(path: cgroup)) }
        return .pids
    }
}
