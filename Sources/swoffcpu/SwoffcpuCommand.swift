import ArgumentParser
import Glibc
import SwoffcpuBPF
import SwoffcpuCore

@main
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
        """,
        version: "0.1.0"
    )

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: .shortAndLong, help: "Print libbpf's and the BPF verifier's messages to stderr.")
    var verbose = false

    func run() throws {
        do {
            let report = try TraceRunner(target: target, verbose: verbose).run()
            try ReportOutput(options: output).write(report)
        } catch let error as ExitCode {
            throw error
        } catch {
            Diagnostics.fail(error, verbose: verbose)
        }
    }
}
