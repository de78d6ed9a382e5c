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
    var unwindMode: UnwindMode = .fp
    var python = PythonOptions()
    let verbose: Bool
    /// --follow: processes created by the targets are traced too (ProcessFollower).
    var follow = false
    /// `-- COMMAND`: started held, a target, released once traced (CommandLaunch).
    var command: CommandLaunch? = nil
    var timeline = TimelineOptions()
    var onCPUHz: UInt32? = nil
    /// --interval (LiveView.swift).
    var live: LiveView? = nil
    /// Frames' addresses and mappings kept for the pprof file (--pprof); not needed otherwise.
    var recordSites = true

    func run() throws -> ResolvedTrace {
        // First of all: a SIGINT or SIGTERM while the programs load (a second or two on a busy
        // machine) must stop the trace as soon as it starts, not be lost — a background job of a
        // non-interactive shell even starts with SIGINT ignored.
        StopSignals.install()
        try Preflight.checkBTF()
        try Preflight.checkCapabilities()
        try Preflight.checkPIDNamespace()
        var options = TraceOptions(pids: target.pids + (command.map { [$0.pid] } ?? []), tids: target.tids, verbose: verbose)
        options.followProcesses = follow
        // Following the process tree: the trace ends when the followed processes have exited.
        let following = follow || command != nil
        options.userStacks = stacks.enabled && !stacks.noUserStacks
        // With --cgroup and -a too, for the execs: a process that execs while traced has its
        // symbols taken at once, so that its stacks are named even if it exits before the end.
        options.processEvents = following || (options.userStacks && target.service.given)
        options.kernelStacks = stacks.enabled && !stacks.noKernelStacks
        options.allStacks = stacks.allStacks
        options.walkOneIn = stacks.stackSampling
        options.maxStacks = stacks.maxStacks
        options.timeline = timeline.enabled
        options.timelineLimit = timeline.timelineLimit
        options.onCPUHz = onCPUHz
        options.target = try target.service.traceTarget() // --cgroup, -a
        // Symbols are taken while the targets live (a target that exits keeps its names),
        // before the window starts so that the work does not disturb what is measured.
        // Also without stacks: they name the locks (futex addresses in data, bss, stacks).
        // Before the programs load: the unwind tables are built from them (docs/unwinding.md).
        var resolver: StackResolver? = StackResolver()
        resolver?.recordSites = recordSites
        let targets = target.pids + target.tids.compactMap { ProcFS.tgid(of: $0) }
        var snapshotted: [Int32] = []
        for pid in targets where !snapshotted.contains(pid) {
            resolver?.snapshot(pid: pid)
            snapshotted.append(pid)
        }
        let unwind = UnwindRunner(mode: options.userStacks ? unwindMode : .fp)
        if let resolver {
            options.unwind = Log.timed("unwind tables built") { unwind.setup(resolver: resolver, pids: snapshotted) }
        }
        // CPython targets: their frame chains are read at each user stack walk.
        let pythons = stacks.enabled && !stacks.noUserStacks && !python.noPython
            ? PythonFrames.targets(pids: targets) : (targets: [], notes: [])
        options.python = pythons.targets
        for n in pythons.notes { Log.logger.warning("\(TerminalText.sanitize(n))") }
        for t in pythons.targets { Log.logger.info("pid \(t.pid): Python \(t.version) (\(t.module)): its frames are read") }
        let session: TraceSession
        do { session = try TraceSession(options: options) } catch let error as BPFError where options.unwind != nil {
            // A kernel that refuses the unwinder still traces, with frame pointers.
            Log.logger.warning("the DWARF unwinder could not be loaded (\(error)); frame pointers only")
            options.unwind = nil
            session = try TraceSession(options: options)
        }
        // Said now, before a long trace, not found out from [unknown] frames after it.
        let degraded = Preflight.degradations(pids: session.tgids)
        for d in degraded { Diagnostics.write("swoffcpu: warning: \(d)\n") }
        if let failure = session.seedUserStacksFailure {
            Log.logger.warning("threads off-CPU since before the trace keep no user stack here: the kernel refused that walk (\(failure); -v for the verifier's log)")
        }
        // The held command too: its wait before the exec is swoffcpu's code (its exec event
        // snapshots the new image; the stacks from before it are named from this one).
        // --cgroup: its processes now; -a: none before (symbols taken at the end, ServiceTargets).
        for pid in ServiceTargets.snapshotPids(session) where !snapshotted.contains(pid) { resolver?.snapshot(pid: pid) }
        for t in pythons.targets { resolver?.python[t.pid] = PythonCode(target: t) }
        var follower = ProcessFollower(targets: session.tgids, command: command)
        try session.start()
        live?.begin(windowStartNs: session.windowStartNs)
        // Traced and seeded: the command may run now (its exec is its first event).
        try command?.release()
        Log.logger.debug("tracing pids \(session.tgids): \(session.stats().seededThreads) threads seeded; stack maps \(session.mapSizes.stacks) stacks, \(session.mapSizes.stackTime) stack-time entries")
        // Not with a command (the terminal is the command's), nor under the live view.
        let status = StatusLine(enabled: Terminal.stderrIsTerminal && command == nil && live == nil,
                                processes: session.tgids.count)
        var statusShownNs: UInt64 = 0
        var adoptedNs: UInt64 = 0
        var followSeen = 0
        var pythonFollower = PythonFollower(enabled: options.processEvents && stacks.enabled && !stacks.noUserStacks
                                            && !python.noPython)
        let startNs = session.windowStartNs
        let deadlineNs = target.duration.map { startNs + UInt64(($0 * 1e9).rounded()) }
        var why = ""
        var endAt: UInt64? // the last exit, when every traced thread has exited
        var exited = Set<ProcessIdentity>()
        // A target that execs gets a snapshot of its new image; the old one stays for the
        // stacks walked before (StackResolver picks per stack).
        var images: [Int32: String] = [:]
        for t in session.targets { images[t.pid] = ProcFS.imageIdentity(of: t.pid) }
        while true {
            let now = Clock.monotonicNs()
            if let deadlineNs, now >= deadlineNs { break }
            if let signal = StopSignals.received {
                // With a command: passed on to it, and the trace goes on until it exits
                // (5 s at most), so that what it does on Ctrl-C is in the report.
                guard let command else { why = "interrupted"; break }
                command.forward(signal, nowNs: now)
                if let since = command.forwarded?.atNs, now - since > 5_000_000_000 {
                    why = "interrupted; the command did not exit within 5 s"
                    break
                }
            }
            // A target that exits is said when it is seen (the trace goes on for the others);
            // when none is left, the trace ends, whatever -d said.
            for t in session.targets where !exited.contains(t) && (t.pid == command?.pid ? command?.status != nil : t.hasExited) {
                exited.insert(t)
                if t.pid == command?.pid { continue } // said with the report
                status.clear()
                let name = session.processName(t.pid).map { " (\(TerminalText.sanitize($0)))" } ?? ""
                Diagnostics.write("swoffcpu: pid \(t.pid)\(name) exited \(DurationFormat.format(ns: now - startNs)) into the trace\n")
            }
            follower.consume(session.processEvents(), resolver: &resolver)
            // A Python program started or exec'ed meanwhile: its frames too.
            pythonFollower.poll(pids: follower.alive.union(command.map { [$0.pid] } ?? []), session: session,
                                resolver: &resolver, nowNs: now)
            pythonFollower.prefetch(session: session, resolver: resolver, nowNs: now)
            if exited.count == session.targets.count && !session.targets.isEmpty && !following {
                why = "every traced process exited"
                Diagnostics.write("swoffcpu: every traced process exited: the trace ends\n")
                break
            }
            // With a command, the trace ends when it has exited; else when every target has.
            // With --follow, once the processes born meanwhile have exited too.
            let finished = (command.map { $0.status != nil } ?? (exited.count == session.targets.count))
                && follower.alive.isEmpty
            if finished && following {
                // The last exits' records arrive after the parent hears of them (the final
                // switch-out follows the exit): when no traced thread is left, the window ends
                // at the last exit.
                Clock.nap(ns: 5_000_000)
                session.poll()
                follower.consume(session.processEvents(), resolver: &resolver)
                if follower.alive.isEmpty {
                    if (try? session.liveThreadCount()) == 0 { endAt = session.lastExitNs }
                    why = command == nil ? "every traced process exited" : "the command exited"
                    if command == nil { Diagnostics.write("swoffcpu: every traced process exited: the trace ends\n") }
                    break
                }
            }
            var execed = false
            for t in session.targets where !exited.contains(t) && !options.processEvents { // else: exec events
                guard let image = ProcFS.imageIdentity(of: t.pid), image != images[t.pid] else { continue }
                images[t.pid] = image
                execed = true
                resolver?.snapshot(pid: t.pid, afterExec: true)
                Log.logger.info("pid \(t.pid) exec'ed: its new image's symbols taken")
            }
            session.poll()
            // --cgroup: records begun where task storage could not be created, still waiting
            // (a thread that has not run since), moved into storage once a second.
            if now - adoptedNs >= 1_000_000_000 {
                session.adoptPendingRecords()
                adoptedNs = now
            }
            // Processes born or exec'ed (a target, --follow, a command) get their unwind tables at once.
            let seen = follower.births + follower.execs
            unwind.refreshIfNeeded(session: session, resolver: &resolver, nowNs: now,
                                   followed: follower.alive, force: execed || (following && seen != followSeen))
            followSeen = seen
            if now - statusShownNs >= 100_000_000 { // 10 a second at most, however often the loop runs
                status.update(elapsedNs: now - startNs, stats: session.stats())
                statusShownNs = now
            }
            live?.tick(session, now: now)
            // Following: often, so that a short-lived process's symbols are taken while it lives.
            let period: UInt64 = options.processEvents ? 10_000_000 : 100_000_000
            Clock.nap(ns: min(period, deadlineNs.map { $0 - now } ?? .max, // a stop signal cuts it short
                              live?.untilNextNs(Clock.monotonicNs()) ?? .max))
        }
        status.clear()
        if !why.isEmpty { Log.logger.info("trace ended: \(why)") }
        var report = try Log.timed("stop: the kernel's records and maps read") { try session.stop(at: endAt) }
        live?.finish(report)
        follower.consume(session.processEvents(), resolver: &resolver)
        if following { follower.apply(to: &report, commandStatus: command?.status, commandPid: command?.pid) }
        if options.processEvents {
            Log.logger.debug("followed: \(follower.births) processes born, \(follower.execs) execs")
            let dropped = session.processEventsDropped
            if dropped > 0 {
                Log.logger.warning("\(dropped) process births, execs or exits not recorded (their ring buffer was full): \(following ? "the process tree misses them" : "processes that exec'ed then may have unnamed frames")")
            }
        }
        var symbolized = SymbolizedStacks()
        var degradedAtEnd: [String] = []
        var modules: [ResolvedTrace.Module] = []
        if var resolver {
            // Again at the end, for libraries loaded meanwhile (parsed files are cached).
            Log.timed("stop: process snapshots taken again") {
                // Not a PID reused meanwhile by another process: its maps are not the target's.
                for t in session.targets where !t.hasExited { resolver.snapshot(pid: t.pid) }
                for pid in ServiceTargets.laterPids(report, session) { resolver.snapshot(pid: pid) } // --cgroup, -a
            }
            let py = session.pythonCounts()
            if !pythons.targets.isEmpty {
                Log.logger.info("python: \(py.walks) frame chains read, \(py.noThreadState) walks found no thread state, \(py.noFrame) no frame, \(py.notStored) not stored")
            }
            symbolized = Log.timed("stop: stacks attributed and symbolized") { resolver.stacks(report) }
            // Paths in the problems are the traced program's: no raw control characters on stderr.
            for p in resolver.problems { Log.logger.info("symbolization: \(TerminalText.sanitize(p))") }
            if resolver.vanishedAfterExec > 0 {
                Log.logger.info("symbolization: \(resolver.vanishedAfterExec) processes exited right after their exec, before their symbols were read (their frames stay unnamed)")
            }
            if resolver.droppedDataFrames > 0 {
                Log.logger.info("symbolization: \(resolver.droppedDataFrames) frames in no executable mapping dropped (frame-pointer walks through code without frame pointers)")
            }
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
        PythonReport.annotate(&trace, python: resolver?.python ?? [:])
        trace.degraded = degraded + degradedAtEnd
        trace.modules = modules
        trace.unwind = unwind.summary(session: session)
        if let command {
            // The command as typed, and with -f how many processes it started (+ N processes).
            let line = ProcessLineage(arguments: command.arguments).commandLine ?? ""
            let others = report.processes.count - 1
            trace.targetDescription = "\(line) (pid \(command.pid))"
                + (others > 0 ? " + \(others) process\(others == 1 ? "" : "es")" : "")
        }
        if let what = ServiceTargets.description(session, report) { trace.targetDescription = what } // --cgroup, -a
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
