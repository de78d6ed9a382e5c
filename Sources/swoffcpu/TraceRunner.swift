import SwoffcpuBPF
import SwoffcpuCore
import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuSystem

/// Runs one trace: checks, start, the wait loop with its status line, stop, then the resolve
/// stage (symbolization, attribution, lock names).
struct TraceRunner {
    let target: TargetOptions
    let stacks: StackOptions
    let verbose: Bool

    func run() throws -> ResolvedTrace {
        // First of all: a SIGINT or SIGTERM while the programs load (a second or two on a busy
        // machine) must stop the trace as soon as it starts, not be lost — a background job of a
        // non-interactive shell even starts with SIGINT ignored.
        StopSignals.install()
        try Preflight.checkBTF()
        try Preflight.checkCapabilities()
        try Preflight.checkPIDNamespace()
        var options = TraceOptions(pids: target.pids, tids: target.tids, verbose: verbose)
        options.userStacks = stacks.enabled && !stacks.noUserStacks
        options.kernelStacks = stacks.enabled && !stacks.noKernelStacks
        options.allStacks = stacks.allStacks
        options.walkOneIn = stacks.stackSampling
        options.maxStacks = stacks.maxStacks
        let session = try TraceSession(options: options)
        // Said now, before a long trace, not found out from [unknown] frames after it.
        let degraded = Preflight.degradations(pids: session.tgids)
        for d in degraded { Diagnostics.write("swoffcpu: warning: \(d)\n") }
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
        let status = StatusLine(enabled: Terminal.stderrIsTerminal, processes: session.tgids.count)
        let startNs = session.windowStartNs
        let deadlineNs = target.duration.map { startNs + UInt64(($0 * 1e9).rounded()) }
        var why = ""
        var exited = Set<ProcessIdentity>()
        // A target that execs gets a snapshot of its new image; the old one stays for the
        // stacks walked before (StackResolver picks per stack).
        var images: [Int32: String] = [:]
        for t in session.targets { images[t.pid] = ProcFS.imageIdentity(of: t.pid) }
        while true {
            let now = Clock.monotonicNs()
            if let deadlineNs, now >= deadlineNs { break }
            if StopSignals.received != nil { why = "interrupted"; break }
            // A target that exits is said when it is seen (the trace goes on for the others);
            // when none is left, the trace ends, whatever -d said.
            for t in session.targets where !exited.contains(t) && t.hasExited {
                exited.insert(t)
                status.clear()
                let name = session.processName(t.pid).map { " (\(TerminalText.sanitize($0)))" } ?? ""
                Diagnostics.write("swoffcpu: pid \(t.pid)\(name) exited \(DurationFormat.format(ns: now - startNs)) into the trace\n")
            }
            if exited.count == session.targets.count {
                why = "every traced process exited"
                Diagnostics.write("swoffcpu: every traced process exited: the trace ends\n")
                break
            }
            for t in session.targets where !exited.contains(t) {
                guard let image = ProcFS.imageIdentity(of: t.pid), image != images[t.pid] else { continue }
                images[t.pid] = image
                resolver?.snapshot(pid: t.pid, afterExec: true)
                Log.logger.info("pid \(t.pid) exec'ed: its new image's symbols taken")
            }
            session.poll()
            status.update(elapsedNs: now - startNs, stats: session.stats())
            Clock.nap(ns: min(100_000_000, deadlineNs.map { $0 - now } ?? .max)) // a stop signal cuts it short
        }
        status.clear()
        if !why.isEmpty { Log.logger.info("trace ended: \(why)") }
        var report = try Log.timed("stop: the kernel's records and maps read") { try session.stop() }
        var symbolized = SymbolizedStacks()
        var degradedAtEnd: [String] = []
        var modules: [ResolvedTrace.Module] = []
        if var resolver {
            // Again at the end, for libraries loaded meanwhile (parsed files are cached).
            Log.timed("stop: process snapshots taken again") {
                // Not a PID reused meanwhile by another process: its maps are not the target's.
                for t in session.targets where !t.hasExited { resolver.snapshot(pid: t.pid) }
            }
            symbolized = Log.timed("stop: stacks attributed and symbolized") { resolver.stacks(report) }
            // Paths in the problems are the traced program's: no raw control characters on stderr.
            for p in resolver.problems { Log.logger.info("symbolization: \(TerminalText.sanitize(p))") }
            // What stayed unnamed and why, and how to get the names: said, and kept in the JSON.
            modules = resolver.modules
            for note in resolver.symbolizationNotes(symbolized) {
                let line = TerminalText.sanitize(note)
                Diagnostics.write("swoffcpu: warning: \(line)\n")
                degradedAtEnd.append(line)
            }
        }
        let locks = Log.timed("stop: locks named") { LockResolver.report(report, resolver: resolver) }
        // Symbolized: the raw stacks and leaf contexts (100 MB for 100,000 stacks) are not needed
        // any more while the outputs are written.
        Log.timed("stop: raw stacks released") { report.stacks?.releaseStacks() }
        var trace = ResolvedTrace(report: report, stacks: symbolized, locks: locks)
        trace.degraded = degraded + degradedAtEnd
        trace.modules = modules
        return trace
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
