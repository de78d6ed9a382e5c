import CLibBPF
import CSwoffcpuShims
import Dispatch
import Glibc
import SwoffcpuCore
import SwoffcpuSystem

/// What to trace.
public struct TraceOptions: Sendable {
    /// Processes: every thread of each, and every thread they create while traced.
    public var pids: [Int32]
    /// If not empty, only these threads (of the processes in `pids`, or of their own processes).
    public var tids: [Int32]
    /// Echo libbpf's and the verifier's output to stderr.
    public var verbose: Bool
    /// Walk user / kernel stacks at switch-out.
    public var userStacks: Bool = true
    public var kernelStacks: Bool = true
    /// Walk the stacks at every switch-out instead of sampling.
    public var allStacks: Bool = false
    /// Sampling: within 10 ms of a thread's last walk (`LoadPlan.walkPeriodNs`), 1
    /// switch-out in `walkOneIn` is walked.
    public var walkOneIn: UInt32 = 64
    /// Entries of the kernel's stack maps; nil: sized from the targets' thread count
    /// (`LoadPlan`, which sizes every other map too).
    public var maxStacks: UInt32?
    /// Time wakeups with the sched_wakeup hook, as on a kernel without CONFIG_SCHED_INFO
    /// (no run-queue clocks), even where the kernel has them: for testing that fallback.
    public var wakeupHook: Bool = false
    /// Processes created by traced tasks are traced from birth (--follow).
    public var followProcesses: Bool = false
    /// Births, execs and exits of traced processes are reported (`processEvents()`): with
    /// --follow and for a command swoffcpu starts.
    public var processEvents: Bool = false
    /// Unwind tables for the DWARF unwinder; nil (or mode fp): frame pointers only.
    public var unwind: UnwindSetup?
    /// The CPython interpreters of traced processes: their Python frames are read at each
    /// user stack walk (bpf/python.bpf.h).
    public var python: [PythonTarget] = []
    /// Record every interval and its waker (bpf/timeline.bpf.h), at most `timelineLimit` slices.
    public var timeline: Bool = false
    public var timelineLimit: Int = 2_000_000
    /// Sample on-CPU stacks this many times a second per CPU (bpf/oncpu.bpf.h); nil: not.
    public var onCPUHz: UInt32?
    /// --cgroup or -a instead of `pids`/`tids` (Targets.swift).
    public var target: TraceTarget = .pids

    public init(pids: [Int32], tids: [Int32] = [], verbose: Bool = false) {
        self.pids = pids
        self.tids = tids
        self.verbose = verbose
    }

    var stacksEnabled: Bool { userStacks || kernelStacks }
}

/// Counters readable while tracing, for the live status line.
public struct LiveStats: Sendable {
    public var events: UInt64
    public var seededThreads: Int
    public var exitedThreads: Int
}

/// One trace: load, attach and seed (`start`), drain exit records (`poll`), end the
/// window and collect every thread's record (`stop`).
///
/// The window begins when the existing threads are seeded (after the tracepoints are
/// attached, so no event is missed) and ends when `stop` sets `window_end_ns` in the
/// programs' .bss: from then on the kernel records are frozen, the dump iterator closes
/// every open interval at that instant, and threads exiting meanwhile are still reported.
public final class TraceSession {
    public let options: TraceOptions
    /// Python interpreters found while tracing (a followed process, a command): `addPython`.
    private var pythonAdded = false

    /// The Python frame chains stored so far (to name their code objects while the processes
    /// live); empty when none or on error.
    public func pythonStacksNow() -> [UInt64: PythonRawStack] {
        guard skel != nil, !options.python.isEmpty || pythonAdded else { return [:] }
        return (try? PythonMaps.readStacks(fd: mapFD(SWOFFCPU_MAP_PY_STACKS))) ?? [:]
    }

    /// A CPython process found while tracing (born or exec'ed under --follow, a command): its
    /// frames are read from the next stack walk on (the kernel side looks `py_procs` up by tgid).
    public func addPython(_ target: PythonTarget) throws {
        guard let skel else { return }
        try PythonMaps.configure(fd: swoffcpu_map_fd(skel, SWOFFCPU_MAP_PY_PROCS), targets: [target])
        pythonAdded = true
    }
    /// Thread-group ids traced (from `pids`, and the processes of `tids`).
    public let tgids: [Int32]
    /// The traced processes, told apart from later processes that reuse their PIDs.
    public let targets: [ProcessIdentity]

    private var skel: OpaquePointer?
    private var ring: OpaquePointer?
    private var timelineRing: TimelineRing?
    private let sink = ExitSink()
    private var processRing: ProcessEventRing?
    private var seeds: [ThreadRecord] = []
    private var names: [Int32: String] = [:]
    private(set) public var windowStartNs: UInt64 = 0
    /// Why the sleepable seed walk of user stacks could not be loaded (the rest was), if so.
    public private(set) var seedUserStacksFailure: BPFError?
    /// What was loaded: programs, settings, map sizes (the plan the kernel accepted).
    public private(set) var plan: LoadPlan
    /// Entries of the kernel's stack, stack-time and lock maps, as loaded.
    public var mapSizes: (stacks: UInt32, stackTime: UInt32, locks: UInt32) {
        (plan.mapSizes.userStacks, plan.mapSizes.stackTime, plan.mapSizes.lockWaits)
    }
    private var started = false
    private var stopped = false
    /// The perf events driving the on-CPU sampling, while attached.
    private var onCPU: OpaquePointer?
    /// CPUs the on-CPU sampling runs on (0: none).
    public private(set) var onCPUCPUs: Int32 = 0

    public init(options: TraceOptions) throws {
        self.options = options
        var tgids: [Int32] = []
        for pid in options.pids {
            guard let tgid = ProcFS.tgid(of: pid) else { throw TraceError.noSuchProcess(pid) }
            if tgid != pid { throw TraceError.threadNotProcess(tid: pid, tgid: tgid) }
            if !tgids.contains(pid) { tgids.append(pid) }
        }
        for tid in options.tids {
            guard let tgid = ProcFS.tgid(of: tid) else { throw TraceError.noSuchThread(tid) }
            if !tgids.contains(tgid) { tgids.append(tgid) }
        }
        guard !tgids.isEmpty || options.target != .pids else { throw TraceError.nothingToTrace }
        self.tgids = tgids
        // Each target by PID and start time: a PID reused during the trace is another process.
        self.targets = tgids.compactMap { ProcessIdentity(pid: $0) }

        swoffcpu_log_setup(options.verbose ? 1 : 0)
        let named = options.target.processesNow(pids: tgids) // the pids, or the cgroup's or machine's processes
        let threads = named.reduce(0) { $0 + ProcFS.threadCount(of: $1) }
        var plan = options.wakeupHook ? LoadPlan(options: options, tgids: tgids, threads: threads, queueClock: false)
            : LoadPlan(options: options, tgids: tgids, threads: threads)
        plan.targets = LoadPlan.TargetSettings(options.target)
        var loaded = plan.load()
        if case .failure(let first) = loaded, let fallback = plan.withoutOptionalPrograms() {
            // A kernel whose verifier refuses the sleepable seed walk still gets the rest:
            // threads off-CPU since before the trace then show a placeholder for their user stack.
            loaded = fallback.load()
            if case .success = loaded {
                plan = fallback
                seedUserStacksFailure = first
            }
        }
        self.plan = plan
        let skel = try loaded.get()
        self.skel = skel
        do {
            try fill(map: SWOFFCPU_MAP_TARGET_TGIDS, keys: tgids)
            try fill(map: SWOFFCPU_MAP_TARGET_TIDS, keys: options.tids)
            try PythonMaps.configure(fd: swoffcpu_map_fd(skel, SWOFFCPU_MAP_PY_PROCS), targets: options.python)
        } catch {
            destroy()
            throw error
        }
        if plan.unwind.mode != .fp, let setup = options.unwind {
            do { try loadUnwind(setup) } catch {
                destroy()
                throw error
            }
        }
        for tgid in tgids { names[tgid] = ProcFS.comm(of: tgid) }
        let text = TextRanges.of(pids: options.target == .all ? [] : named, limit: Int(SWOFFCPU_MAX_TEXT_RANGES))
        let ranges = text.map { swoffcpu_text_range(start: $0.start, end: $0.end) }
        ranges.withUnsafeBufferPointer { swoffcpu_set_text_ranges(skel, $0.baseAddress, UInt32($0.count)) }
    }

    deinit { destroy() }

    /// Attaches the scheduler tracepoints and seeds every existing thread: the window starts.
    public func start() throws {
        guard let skel, !started else { return }
        let fd = swoffcpu_map_fd(skel, SWOFFCPU_MAP_EXITS)
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        ring = ring_buffer__new(fd, { ctx, data, size in
            guard let ctx, let data else { return 0 }
            let sink = Unmanaged<ExitSink>.fromOpaque(ctx).takeUnretainedValue()
            sink.records += KernelRecord.decode(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }, ctx, nil)
        if ring == nil { throw BPFError("creating the exit ring buffer", errno: errno) }
        if plan.timeline { timelineRing = try TimelineRing(skel: skel, limit: options.timelineLimit) }

        if options.processEvents { processRing = try ProcessEventRing(fd: swoffcpu_proc_events_fd(skel)) }
        var err = swoffcpu_attach(skel)
        if err != 0 { throw BPFError("attaching the scheduler tracepoints", errno: err) }
        err = swoffcpu_follow_attach(skel)
        if err != 0 { throw BPFError("attaching the process exec and exit tracepoints", errno: err) }
        if plan.programs.onCPUSample {
            var e: Int32 = 0
            onCPU = swoffcpu_oncpu_attach(skel, plan.onCPUHz, &e, &onCPUCPUs)
            if onCPU == nil {
                swoffcpu_detach(skel)
                throw BPFError("attaching the on-CPU sampling (a cpu-clock perf event per CPU)", errno: e)
            }
        }
        let targetsErr = swoffcpu_attach_targets(skel) // --cgroup: tasks moved in and out
        if targetsErr != 0 {
            swoffcpu_detach(skel)
            throw BPFError("attaching the cgroup move tracepoint", errno: targetsErr)
        }
        started = true
        windowStartNs = Clock.monotonicNs()
        swoffcpu_set_window_start(skel, windowStartNs)
        // Twice: a thread created by a not-yet-seeded thread during the first pass
        // gets no storage from the fork hook; the second pass catches it.
        seeds = try runIterator(SWOFFCPU_ITER_SEED)
        seeds += try runIterator(SWOFFCPU_ITER_SEED)
        // Where the threads found off-CPU wait: their user stacks, read from their memory.
        if plan.programs.seedUserStacks { _ = try runIterator(SWOFFCPU_ITER_SEED_USER_STACKS) }
    }

    /// Drains the records of exited threads. Call every ~100 ms while tracing.
    public func poll() {
        if let ring { ring_buffer__consume(ring) }
        timelineRing?.consume()
    }

    /// Counters for the live status line.
    public func stats() -> LiveStats {
        LiveStats(events: counter(SWOFFCPU_CTR_EVENTS), seededThreads: seeds.count,
                  exitedThreads: sink.records.count)
    }

    /// Whether every traced process has exited (the trace can end by itself).
    /// The name a traced process had when the trace started.
    public func processName(_ pid: Int32) -> String? {
        names[pid]
    }

    public func allTargetsExited() -> Bool {
        targets.allSatisfy(\.hasExited)
    }

    /// Births, execs and exits of traced processes since the last call (with
    /// `TraceOptions.processEvents`).
    public func processEvents() -> [ProcessEvent] {
        processRing?.consume() ?? []
    }

    /// Process events lost because their ring buffer was full.
    public var processEventsDropped: UInt64 {
        guard let skel else { return 0 }
        return swoffcpu_proc_events_dropped(skel)
    }

    /// The records of exited threads received so far: their latest end (0 if none).
    public var lastExitNs: UInt64 {
        sink.records.reduce(0) { max($0, $1.endNs) }
    }

    /// Records waiting in `acct_pending` for their task's storage now (bpf/task.bpf.h).
    public var pendingRecords: UInt64 {
        guard let skel else { return 0 }
        return swoffcpu_pending_records(skel)
    }

    /// Moves the records still waiting in `acct_pending` into task storage: the dump iterator
    /// adopts each it meets, and there, interrupts on, the storage can be created. A thread
    /// that never runs again (parked) would else keep its record waiting all the trace, and
    /// with it a hash lookup at every switch of every untraced task. Cheap when none waits
    /// (a load); call about once a second.
    public func adoptPendingRecords() {
        guard let skel, started, !stopped, swoffcpu_pending_records(skel) > 0 else { return }
        _ = try? runLiveDump()
    }

    /// How many traced threads live now (a look through the dump iterator while tracing).
    public func liveThreadCount() throws -> Int {
        guard started, !stopped else { return 0 }
        return try runIterator(SWOFFCPU_ITER_DUMP).count
    }

    /// Ends the window now, collects every thread's record and detaches. With `at`, an instant
    /// already past, the window ends there instead: for a trace whose threads have all exited
    /// (`liveThreadCount() == 0`), at the last exit, so that nothing after it is in the window.
    public func stop(at pastEnd: UInt64? = nil) throws -> TraceReport {
        guard let skel, started, !stopped else { throw TraceError.notTracing }
        stopped = true
        let end: UInt64
        if let pastEnd, pastEnd <= Clock.monotonicNs() {
            end = max(pastEnd, windowStartNs)
            swoffcpu_set_window_end(skel, end)
        } else {
            // The window ends 2 ms from now, not now: a program on another CPU that read the
            // clock after `now` but before our store to .bss became visible would still count
            // its event, past the end (seen: a record 153 ns beyond it). Set in the future, the
            // end is visible everywhere long before any clock reaches it; wait until it has
            // passed, then every event after it is refused.
            end = Clock.monotonicNs() + 2_000_000
            swoffcpu_set_window_end(skel, end)
            while Clock.monotonicNs() < end + 200_000 { Clock.nap(ns: 200_000) }
        }
        let live = try runIterator(SWOFFCPU_ITER_DUMP)
        poll()
        swoffcpu_follow_detach(skel)
        swoffcpu_detach(skel)
        swoffcpu_oncpu_detach(onCPU)
        onCPU = nil
        swoffcpu_detach_targets(skel)
        poll()
        for tgid in tgids where names[tgid] == nil { names[tgid] = ProcFS.comm(of: tgid) }
        let exitedPids = Set(targets.filter(\.hasExited).map(\.pid) + tgids.filter { t in !targets.contains { $0.pid == t } })
        let lost = LostCounts(
            untracedThreads: counter(SWOFFCPU_CTR_STORAGE_FAIL),
            exitRecordsDropped: counter(SWOFFCPU_CTR_RINGBUF_DROP),
            exitRecordsDroppedNs: counter(SWOFFCPU_CTR_RINGBUF_DROP_NS),
            switchesRecovered: counter(SWOFFCPU_CTR_MISSED_SWITCHES))
        // On-CPU and runnable split by the kernel's own clocks (see KernelClocks).
        func reconciled(_ records: [ThreadRecord]) -> [ThreadRecord] {
            records.map { r in
                var r = r
                r.reconcileWithKernelClocks()
                return r
            }
        }
        var report = ReportBuilder(
            windowStartNs: windowStartNs, windowEndNs: end, targetPids: tgids,
            seeds: seeds, exits: reconciled(sink.records), dump: reconciled(live),
            processNames: names, exitedPids: exitedPids, lost: lost).build()
        if options.stacksEnabled { report.stacks = try readStacks() }
        report.locks = try readLocks()
        report.timeline = timelineRing?.finish()
        return report
    }

    /// Reads a whole hash map, batch by batch (see `MapDump`).
    private func dump(_ map: swoffcpu_map_id, keySize: Int, valueSize: Int,
                      _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, Int) -> Void) throws {
        try MapDump.read(fd: mapFD(map), keySize: keySize, valueSize: valueSize, body)
    }

    private func mapFD(_ map: swoffcpu_map_id) -> Int32 {
        guard let skel else { return -1 }
        return swoffcpu_map_fd(skel, map)
    }

    private func readLocks() throws -> LockData {
        var data = LockData(waitsDropped: counter(SWOFFCPU_CTR_LOCKS_FULL),
                            waitsDroppedNs: counter(SWOFFCPU_CTR_LOCKS_FULL_NS),
                            wakersDropped: counter(SWOFFCPU_CTR_WAKERS_FULL))
        try dump(SWOFFCPU_MAP_LOCK_WAITS, keySize: MemoryLayout<swoffcpu_lock_key>.size,
                 valueSize: MemoryLayout<swoffcpu_lock_val>.size) { k, v, n in
            data.waits += KernelRecord.lockWaits(keys: k, values: v, count: n)
        }
        try dump(SWOFFCPU_MAP_LOCK_WAKERS, keySize: MemoryLayout<swoffcpu_waker_key>.size,
                 valueSize: MemoryLayout<swoffcpu_waker_val>.size) { k, v, n in
            data.wakers += KernelRecord.lockWakers(keys: k, values: v, count: n)
        }
        return data
    }

    private func readStacks() throws -> StackData {
        var data = StackData(
            switchOuts: counter(SWOFFCPU_CTR_SWITCH_OUTS), walks: counter(SWOFFCPU_CTR_STACK_WALKS),
            stacksDropped: counter(SWOFFCPU_CTR_STACK_FULL), stacksNotStored: counter(SWOFFCPU_CTR_STACK_BUSY),
            stackTimeDropped: counter(SWOFFCPU_CTR_STACK_TIME_FULL),
            walkOneIn: plan.walkOneIn, walkPeriodNs: plan.walkPeriodNs,
            userStacks: plan.walkUser, kernelStacks: plan.walkKernel)
        if plan.programs.onCPUSample { data.onCPUHz = plan.onCPUHz }
        // Three maps read at once: the leaf contexts and the time per stack on two other threads
        // while this one reads the user stacks. With 100,000 stacks each takes 50–80 ms, mostly
        // the kernel's copying (100 MB of user stacks, 54 MB of leaves) and, for the time per
        // stack, its walk over 262,144 buckets; one after the other they were most of the stop.
        let leavesFD = mapFD(SWOFFCPU_MAP_USER_LEAVES), timeFD = mapFD(SWOFFCPU_MAP_STACK_TIME)
        let leaves = Background { () throws -> WordRuns in
            var leaves = WordRuns()
            try MapDump.read(fd: leavesFD, keySize: 8, valueSize: MemoryLayout<swoffcpu_user_leaf>.size) { k, v, n in
                KernelRecord.leaves(keys: k, values: v, count: n, into: &leaves)
            }
            return leaves
        }
        let entries = Background { () throws -> [StackData.Entry] in
            var entries: [StackData.Entry] = []
            try MapDump.read(fd: timeFD, keySize: MemoryLayout<swoffcpu_stack_key>.size,
                             valueSize: MemoryLayout<swoffcpu_stack_val>.size) { k, v, n in
                KernelRecord.stackEntries(keys: k, values: v, count: n, into: &entries)
            }
            return entries
        }
        let readStacks = Result {
            try dump(SWOFFCPU_MAP_USER_STACKS, keySize: 8, valueSize: MemoryLayout<swoffcpu_stack>.size) { k, v, n in
                KernelRecord.stacks(keys: k, values: v, count: n, into: &data.userFrames)
            }
            try dump(SWOFFCPU_MAP_KERNEL_STACKS, keySize: 8, valueSize: MemoryLayout<swoffcpu_stack>.size) { k, v, n in
                KernelRecord.stacks(keys: k, values: v, count: n, into: &data.kernelFrames)
            }
        }
        // The other two waited for whatever fails first: the caller may close the maps then.
        let readLeaves = Result { try leaves.value() }, readEntries = Result { try entries.value() }
        try readStacks.get()
        data.userLeafWords = try readLeaves.get()
        data.entries = try readEntries.get()
        if !options.python.isEmpty || pythonAdded { data.pythonStacks = try PythonMaps.readStacks(fd: mapFD(SWOFFCPU_MAP_PY_STACKS)) }
        return data
    }

    // MARK: - Internals

    /// For `liveRecords` (Targets.swift): the dump iterator while tracing, and the exit records so far.
    func runLiveDump() throws -> [ThreadRecord] { try runIterator(SWOFFCPU_ITER_DUMP) }
    var exitRecords: [ThreadRecord] { sink.records }

    private func runIterator(_ id: swoffcpu_iter_id) throws -> [ThreadRecord] {
        guard let skel else { return [] }
        var out: UnsafeMutableRawPointer?
        var len = 0
        let err = swoffcpu_run_iter(skel, id, &out, &len)
        if err != 0 {
            throw BPFError(id == SWOFFCPU_ITER_SEED ? "seeding threads" : "reading thread records", errno: err)
        }
        defer { free(out) }
        return KernelRecord.decode(UnsafeRawBufferPointer(start: out, count: len))
    }

    private func fill(map: swoffcpu_map_id, keys: [Int32]) throws {
        guard let skel else { return }
        let fd = swoffcpu_map_fd(skel, map)
        for key in keys {
            var k = UInt32(bitPattern: key)
            var v: UInt8 = 1
            if bpf_map_update_elem(fd, &k, &v, UInt64(BPF_ANY)) != 0 {
                throw BPFError("filling the target map", errno: errno)
            }
        }
    }

    /// The kernel side's counts of Python frame walks.
    public func pythonCounts() -> PythonWalkCounts {
        let fd = mapFD(SWOFFCPU_MAP_PY_COUNTERS)
        return PythonWalkCounts(walks: PythonMaps.counter(fd: fd, SWOFFCPU_PY_CTR_WALKS),
                                noThreadState: PythonMaps.counter(fd: fd, SWOFFCPU_PY_CTR_NO_TSTATE),
                                notStored: PythonMaps.counter(fd: fd, SWOFFCPU_PY_CTR_FULL),
                                noFrame: PythonMaps.counter(fd: fd, SWOFFCPU_PY_CTR_NO_FRAME))
    }

    func counter(_ idx: Int32) -> UInt64 {
        guard let skel else { return 0 }
        var sum: UInt64 = 0
        _ = swoffcpu_read_counter(skel, UInt32(idx), &sum)
        return sum
    }

    // MARK: - DWARF unwinding (UnwindMaps.swift)

    private var unwindMaps: UnwindMaps?
    private var unwindGeneration: UInt32 = 0

    private func loadUnwind(_ setup: UnwindSetup) throws {
        guard let skel else { return }
        var maps = UnwindMaps(skel: skel)
        try maps.map()
        guard maps.append(setup.rows) != nil else { throw BPFError("loading the unwind tables", errno: E2BIG) }
        for (tgid, m) in setup.processes { try maps.setProcess(tgid, m, generation: 0) }
        unwindMaps = maps
    }

    /// Rows of the unwind tables loaded so far (new tables go after them), and the room left.
    public var unwindRows: (used: UInt32, capacity: UInt32)? {
        unwindMaps.map { ($0.used, $0.capacity) }
    }

    /// Appends tables built during the trace (rows packed as `swoffcpu_unwind_row`): the
    /// index of their first row, or nil when they do not fit (or there is no unwinder).
    public func appendUnwindRows(_ rows: [UInt64]) -> UInt32? {
        unwindMaps?.append(rows)
    }

    /// Replaces a process's mappings (after a dlopen, say).
    public func setUnwindMappings(tgid: Int32, _ mappings: [UnwindMappingEntry]) throws {
        guard let unwindMaps else { return }
        unwindGeneration &+= 1
        try unwindMaps.setProcess(tgid, mappings, generation: unwindGeneration)
    }

    /// What the DWARF unwinder counted so far; nil when it is off.
    public func unwindCounts() -> UnwindCounts? {
        unwindMaps?.counts()
    }

    private func destroy() {
        unwindMaps?.unmap()
        unwindMaps = nil
        swoffcpu_oncpu_detach(onCPU)
        onCPU = nil
        if let ring { ring_buffer__free(ring) }
        ring = nil
        processRing = nil
        timelineRing = nil
        if let skel { swoffcpu_destroy(skel) }
        skel = nil
    }
}

/// Collects exit records from the ring-buffer callback.
private final class ExitSink {
    var records: [ThreadRecord] = []
}

/// Problems with what the user asked to trace.
public enum TraceError: Error, CustomStringConvertible, Equatable, Sendable {
    case noSuchProcess(Int32)
    case noSuchThread(Int32)
    case threadNotProcess(tid: Int32, tgid: Int32)
    case nothingToTrace
    case notTracing

    public var description: String {
        switch self {
        case .noSuchProcess(let pid): "no process with PID \(pid)"
        case .noSuchThread(let tid): "no thread with TID \(tid)"
        case .threadNotProcess(let tid, let tgid):
            "\(tid) is a thread of process \(tgid), not a process: use -p \(tgid) -t \(tid)"
        case .nothingToTrace: "nothing to trace: give -p PID or -t TID"
        case .notTracing: "the trace was not started, or was already stopped"
        }
    }
}
