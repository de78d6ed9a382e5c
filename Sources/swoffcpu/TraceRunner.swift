import CSwoffcpuShims
import Glibc
import SwoffcpuBPF
import SwoffcpuCore
import SwoffcpuExport

/// What one trace produced: the report and its symbolized stacks.
struct TraceResult {
    var report: TraceReport
    var stacks: SymbolizedStacks
    /// Futex waits per lock, named and classified (nil when the kernel recorded none).
    var locks: LockReport? = nil
    var targetDescription: String
}

/// Runs one trace: checks, start, the wait loop with its status line, stop, symbolization.
struct TraceRunner {
    let target: TargetOptions
    let stacks: StackOptions
    let verbose: Bool

    func run() throws -> TraceResult {
        // First of all: a SIGINT or SIGTERM while the programs load (a second or two on a busy
        // machine) must stop the trace as soon as it starts, not be lost — a background job of a
        // non-interactive shell even starts with SIGINT ignored.
        swoffcpu_install_stop_signals()
        try Preflight.checkBTF()
        try Preflight.checkCapabilities()
        var options = TraceOptions(pids: target.pids, tids: target.tids, verbose: verbose)
        options.userStacks = stacks.enabled && !stacks.noUserStacks
        options.kernelStacks = stacks.enabled && !stacks.noKernelStacks
        options.allStacks = stacks.allStacks
        options.walkOneIn = stacks.stackSampling
        options.maxStacks = stacks.maxStacks
        let session = try TraceSession(options: options)
        if let failure = session.seedUserStacksFailure {
            Log.logger.warning("threads off-CPU since before the trace keep no user stack here: the kernel refused that walk (\(failure); -v for the verifier's log)")
        }
        // Symbols are taken while the targets live (a target that exits keeps its names),
        // before the window starts so that the work does not disturb what is measured.
        // Also without stacks: they name the locks (futex addresses in data, bss, stacks).
        var resolver: StackResolver? = StackResolver()
        for pid in session.tgids { resolver?.snapshot(pid: pid) }
        try session.start()
        Log.logger.debug("tracing pids \(session.tgids): \(session.stats().seededThreads) threads seeded; stack maps \(session.mapSizes.stacks) stacks, \(session.mapSizes.stackTime) stack-time entries")
        let status = StatusLine(enabled: isatty(2) == 1, processes: session.tgids.count)
        let startNs = session.windowStartNs
        let deadlineNs = target.duration.map { startNs + UInt64($0 * 1e9) }
        var why = ""
        while true {
            let now = swoffcpu_monotonic_ns()
            if let deadlineNs, now >= deadlineNs { break }
            if swoffcpu_stop_signal() != 0 { why = "interrupted"; break }
            if session.allTargetsExited() { why = "every traced process exited"; break }
            session.poll()
            status.update(elapsedNs: now - startNs, stats: session.stats())
            var nap = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            if let deadlineNs, deadlineNs - now < 100_000_000 { nap.tv_nsec = Int(deadlineNs - now) }
            nanosleep(&nap, nil) // a stop signal cuts it short
        }
        status.clear()
        if !why.isEmpty { Log.logger.info("trace ended: \(why)") }
        var report = try Log.timed("stop: the kernel's records and maps read") { try session.stop() }
        var symbolized = SymbolizedStacks()
        if var resolver {
            // Again at the end, for libraries loaded meanwhile (parsed files are cached).
            Log.timed("stop: process snapshots taken again") {
                for pid in session.tgids where !ProcFS.hasExited(pid) { resolver.snapshot(pid: pid) }
            }
            symbolized = Log.timed("stop: stacks attributed and symbolized") { resolver.stacks(report) }
            // Paths in the problems are the traced program's: no raw control characters on stderr.
            for p in resolver.problems { Log.logger.info("symbolization: \(TerminalText.sanitize(p))") }
        }
        let locks = Log.timed("stop: locks named") { LockResolver.report(report, resolver: resolver) }
        // Symbolized: the raw stacks and leaf contexts (100 MB for 100,000 stacks) are not needed
        // any more while the outputs are written.
        Log.timed("stop: raw stacks released") { report.stacks?.releaseStacks() }
        let names = report.processes.map { "\($0.comm) (pid \($0.pid))" }
        return TraceResult(report: report, stacks: symbolized, locks: locks, targetDescription: names.joined(separator: ", "))
    }
}

/// The one-line live status on stderr, when stderr is a terminal.
struct StatusLine {
    let enabled: Bool
    let processes: Int

    func update(elapsedNs: UInt64, stats: LiveStats) {
        guard enabled else { return }
        let seconds = Double(elapsedNs) / 1e9
        let line = "swoffcpu: tracing \(processes) process\(processes == 1 ? "" : "es"), "
            + "\(stats.seededThreads) threads at start, \(stats.exitedThreads) exited · "
            + "\(String(format1: seconds)) s · \(stats.events) events · Ctrl-C to stop"
        Diagnostics.write("\r\u{1b}[K" + line)
    }

    func clear() {
        if enabled { Diagnostics.write("\r\u{1b}[K") }
    }
}

extension String {
    /// One decimal place, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
