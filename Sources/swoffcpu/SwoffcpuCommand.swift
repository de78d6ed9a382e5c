import ArgumentParser
import Foundation
import SwoffcpuSystem

struct Swoffcpu: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swoffcpu",
        abstract: "Where the threads of a process spend their time: on-CPU, runnable, sleeping or blocked.",
        discussion: """
        swoffcpu traces every thread of the given processes with eBPF and splits each \
        thread's wall-clock time into four states. They add up to the time the thread \
        existed in the trace window, also for threads that never switch.

          on-CPU     Running on a CPU.
                     From the switch onto a CPU to the switch off it.
          runnable   Ready to run, waiting in a run queue for a CPU:
                     preempted, or woken and not yet running.
          sleep      Off-CPU and not runnable, for anything but a futex wait:
                     I/O, poll/epoll, pipes, nanosleep; "D" is uninterruptible (disk).
          blocked    Off-CPU waiting on a futex:
                     mutexes, condition variables, semaphores, rwlocks.

        On-CPU and runnable agree with the kernel's own /proc/PID/task/TID/schedstat.
        Stop with -d SECONDS, Ctrl-C or SIGTERM (the report is still printed and its \
        files written), or when every traced process has exited.

        EXAMPLES
          swoffcpu -p 1234                  trace until Ctrl-C
          swoffcpu -p 1234,5678 -d 10       two processes for 10 seconds
          swoffcpu -p 1234 -t 1240 -d 5     only thread 1240
          swoffcpu -p 1234 -d 5 --json r.json
          swoffcpu -p 1234 -d 5 --folded out.folded --flamegraph out.svg
          swoffcpu -p 1234 -d 5 --locks     contended locks only (docs/locks.md)
          swoffcpu -p 1234 -d 5 --folded-wakers w.folded --flamegraph-wakers w.svg
          swoffcpu -- make -j2              run make traced, exit with its status
          swoffcpu -f -- make -j2           with every process it starts
          swoffcpu -p 1234 -f -d 10         and the processes pid 1234 starts
          swoffcpu --output-dir out -- ./app   every output into out/
          swoffcpu --cgroup /sys/fs/cgroup/system.slice/nginx.service -d 10
          swoffcpu -a -d 5 --top 20         every task of the machine
          swoffcpu -p 1234 --interval 1     live view, a redraw a second
          swoffcpu -p 1234 -d 5 --timeline t.json --waits --critical-path worker
          swoffcpu -p 1234 -d 5 --on-cpu --pprof p.pb.gz   all four states
          swoffcpu diff before.folded after.folded --flamegraph diff.svg
        More: docs/commands.md, docs/pprof.md, docs/timeline.md.
        """,
        version: "0.1.0"
    )

    @OptionGroup(title: "Target") var target: TargetOptions
    @OptionGroup(title: "Report") var output: OutputOptions
    @OptionGroup(title: "Stacks") var stacks: StackOptions
    @OptionGroup(title: "Locks") var locks: LockOptions
    @OptionGroup(title: "Command and processes") var launch: LaunchOptions
    @OptionGroup(title: "Unwinding") var unwinding: UnwindOptions
    @OptionGroup(title: "Python") var python: PythonOptions
    @OptionGroup(title: "Timeline, waits, critical path") var timeline: TimelineOptions
    @OptionGroup(title: "Profiles") var profile: ProfileOptions
    @OptionGroup(title: "Live view") var live: LiveOptions

    @Flag(name: .shortAndLong, help: "Print libbpf's and the BPF verifier's messages to stderr.")
    var verbose = false

    func validate() throws {
        if target.pidLists.isEmpty && target.tidLists.isEmpty && !target.service.given && launch.command.isEmpty {
            throw ValidationError("give the processes to trace with -p PID (or threads with -t TID, a cgroup with --cgroup PATH, every task with -a), or a command after '--'")
        }
        if target.service.given && !launch.command.isEmpty {
            throw ValidationError("--cgroup and -a exclude a command after '--': give one kind of target")
        }
        if launch.follow && !target.tidLists.isEmpty {
            throw ValidationError("--follow traces whole processes: it does not go with -t")
        }
        if !launch.command.isEmpty, let flag = [("--json", output.json), ("--folded", stacks.folded),
                                                ("--folded-wakers", locks.foldedWakers), ("--pprof", profile.pprof)]
            .first(where: { $0.1 == "-" })?.0 {
            throw ValidationError("\(flag) -: with a command, standard output is the command's; write to a file (or --output-dir)")
        }
        if (profile.pprof != nil || profile.onCPUHz != nil) && !stacks.enabled {
            throw ValidationError("--pprof and --on-cpu need stacks: drop --no-stacks")
        }
        if locks.needsStacks && !stacks.enabled {
            throw ValidationError("--folded-wakers and --flamegraph-wakers need stacks: drop --no-stacks")
        }
        // Every output file at once: none twice, at most one on stdout.
        let outputs = [("--json", output.json), ("--folded", stacks.folded), ("--flamegraph", stacks.flamegraph),
                       ("--folded-wakers", locks.foldedWakers), ("--flamegraph-wakers", locks.flamegraphWakers),
                       ("--timeline", timeline.timeline), ("--wait-graph", timeline.waitGraph), ("--pprof", profile.pprof)]
            .compactMap { flag, path in path.map { (flag, $0) } }
        for (i, (flag, path)) in outputs.enumerated() {
            if let (other, _) = outputs[..<i].first(where: { Self.samePath($0.1, path) }) {
                throw ValidationError(path == "-" ? "only one output can go to stdout ('-'): \(other) and \(flag) both ask for it"
                                                  : "\(other) and \(flag) name the same file '\(path)'")
            }
        }
    }

    /// Whether two output paths name the same file: `-` only equals `-`; `./a` equals `a`, and so
    /// does a path through a symbolic link to a directory.
    static func samePath(_ a: String, _ b: String) -> Bool {
        if a == "-" || b == "-" { return a == b }
        func canonical(_ p: String) -> String {
            URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path
        }
        return canonical(a) == canonical(b)
    }

    func run() throws {
        Log.bootstrap(verbose: verbose)
        MemoryReuse.configure()
        var commandStatus: Int32?
        do {
            // Under sudo: the command runs as the invoking user, who owns every file written.
            let user = InvokingUser.fromSudo(environment: ProcessInfo.processInfo.environment)
            AtomicFile.owner = user.map { ($0.uid, $0.gid) }
            var output = try launch.reportOutput(output: output, stacks: stacks, locks: locks)
            output.timeline = TimelineOutput(options: timeline)
            output.profile = profile
            // Before the trace, not after it: an output that cannot be written fails now.
            try output.checkPaths()
            let command = launch.command.isEmpty ? nil : try CommandLaunch(arguments: launch.command, user: user)
            var runner = TraceRunner(target: target, stacks: stacks, unwindMode: unwinding.unwind, python: python,
                                     verbose: verbose, follow: launch.follow, command: command,
                                     timeline: timeline, onCPUHz: profile.onCPUHz)
            runner.recordSites = profile.pprof != nil
            live.configure(&runner, &output, all: target.service.all, top: stacks.top) // LiveOptions.swift
            let trace = try runner.run()
            try output.write(trace)
            // Then swoffcpu exits as the command did ($?: its code, or 128 + the signal).
            commandStatus = command?.finish()
        } catch let error as LaunchError {
            Diagnostics.write("swoffcpu: error: \(error)\n")
            throw ExitCode(error.shellStatus)
        } catch let error as ExitCode {
            throw error
        } catch {
            Diagnostics.fail(error, verbose: verbose)
        }
        if let commandStatus, commandStatus != 0 { throw ExitCode(commandStatus) }
    }
}
