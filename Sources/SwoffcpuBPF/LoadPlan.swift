import CSwoffcpuShims
import Glibc

/// Everything decided before the BPF object is loaded: which programs load, the
/// programs' read-only settings (`const volatile` globals in bpf/), and the size of
/// every map sized at load. This is the one place those choices are made; the C shim
/// (`swoffcpu_configure`) copies a plan into the skeleton and decides nothing.
public struct LoadPlan: Sendable, Equatable {
    /// The programs to load.
    public struct Programs: Sendable, Equatable {
        /// sched_switch: the accounting itself.
        public var onSwitch = true
        /// sched_process_fork: threads created while traced.
        public var onFork = true
        /// sched_waking only names the releasers of walked futex waits: without stack
        /// walks it is left out, which spares a program run at every wakeup of the
        /// machine (about 50 ns, traced or not).
        public var onWaking: Bool
        /// sched_wakeup times wakeups only where the kernel has no run-queue clock
        /// (`queueClock` off); otherwise it is left out: one program run less at every
        /// wakeup of the machine.
        public var onWakeup: Bool
        /// The seed and dump task iterators.
        public var seedThreads = true
        public var dumpThreads = true
        /// The sleepable walk of the user stacks of threads off-CPU at seeding: detail
        /// only, left out without user stacks or when the verifier refuses it.
        public var seedUserStacks: Bool
        /// sched_process_exec and sched_process_exit: the traced processes' execs and exits,
        /// for the process tree (bpf/follow.bpf.h); at those events only.
        public var processEvents = false
        /// The on-CPU sampling program (bpf/oncpu.bpf.h), for `TraceOptions.onCPUHz`.
        public var onCPUSample = false
    }

    /// `max_entries` of each map sized at load, all at least 1.
    public struct MapSizes: Sendable, Equatable {
        public var userStacks: UInt32
        public var kernelStacks: UInt32
        public var userLeaves: UInt32
        public var stackTime: UInt32
        public var lockWaits: UInt32
        public var lockWakers: UInt32
    }

    public var programs: Programs
    public var mapSizes: MapSizes
    /// Threads created by a traced thread are traced (off with a thread filter).
    public var followThreads: Bool
    /// Seed only the threads of `TraceOptions.tids`.
    public var filterTids: Bool
    public var walkUser: Bool
    public var walkKernel: Bool
    /// Stack-walk sampling (bpf/stacks.bpf.h): a thread's first switch-out `walkPeriodNs`
    /// after its last walk is walked; sooner, 1 in `walkOneIn` is. 1: every switch-out.
    public var walkOneIn: UInt32
    public var walkPeriodNs: UInt64
    /// Wakeups timed at switch-in from the kernel's run-queue clock (bpf/accounting.bpf.h).
    public var queueClock: Bool
    /// The traced processes for the kernel side's tgid compare before its task-storage
    /// lookup; empty when there are more than it holds (the lookup alone decides).
    public var fastTgids: [UInt32]
    /// Processes created by traced tasks are traced from birth (--follow). Their tgids are
    /// not known at load, so the fast tgid filter is left empty.
    public var followProcesses = false
    /// The DWARF unwinder (bpf/unwind.bpf.h): its mode and the rows and processes its maps hold.
    public var unwind = UnwindSizes(mode: .fp, rows: 1, processes: 1)

    public struct UnwindSizes: Sendable, Equatable {
        public var mode: UnwindMode
        public var rows: UInt32
        public var processes: UInt32
    }
    /// The timeline (bpf/timeline.bpf.h): every interval and its waker sent through a ring
    /// buffer of `timelineRingBytes`. Off, the programs are the ones without it (the flag is
    /// read-only: the verifier drops the code) and the ring is one page.
    public var timeline: Bool
    public var timelineRingBytes: UInt32
    /// For the timeline's interrupt test: this CPU's preempt count from its run queue.
    public var preemptCountFromRunQueue: Int64?
    /// On-CPU samples a second per CPU (with `programs.onCPUSample`).
    public var onCPUHz: UInt32 = 0
    /// --cgroup, -a (Targets.swift).
    public var targets = TargetSettings()

    /// Sampling period: a thread idle this long since its last walk gets its next
    /// switch-out walked (the CLI's help for --stack-sampling says 10 ms).
    public static let walkPeriodNs: UInt64 = 10_000_000

    /// The plan for tracing `tgids` (with `threads` threads now) as `options` asks, on a
    /// kernel with (`queueClock`) or without the run-queue clocks.
    public init(options: TraceOptions, tgids: [Int32], threads: Int, queueClock: Bool = LoadPlan.kernelHasQueueClock()) {
        let stacks = options.userStacks || options.kernelStacks
        // The timeline needs every waker: sched_waking loads for it too.
        programs = Programs(onWaking: stacks || options.timeline, onWakeup: !queueClock, seedUserStacks: options.userStacks)
        mapSizes = Self.mapSizes(threads: threads, maxStacks: options.maxStacks, stacks: stacks)
        followThreads = options.tids.isEmpty
        filterTids = !options.tids.isEmpty
        walkUser = options.userStacks
        walkKernel = options.kernelStacks
        walkOneIn = options.allStacks ? 1 : max(1, options.walkOneIn)
        walkPeriodNs = Self.walkPeriodNs
        self.queueClock = queueClock
        fastTgids = tgids.count <= Int(SWOFFCPU_FAST_TGIDS) ? tgids.map { UInt32(bitPattern: $0) } : []
        programs.processEvents = options.processEvents || options.followProcesses
        followProcesses = options.followProcesses && followThreads
        if followProcesses { fastTgids = [] }
        if let u = options.unwind, options.userStacks, u.mode != .fp {
            // With --follow (or a command), processes born during the trace get tables too.
            let processes = options.processEvents ? 4096 : max(16, tgids.count * 2)
            unwind = UnwindSizes(mode: u.mode, rows: max(1, u.rowCapacity), processes: UInt32(processes))
        }
        timeline = options.timeline
        timelineRingBytes = options.timeline ? Self.timelineRingBytes(limit: options.timelineLimit) : 4096
        preemptCountFromRunQueue = options.timeline ? PerCPUOffsets.preemptCountFromRunQueue : nil
        if stacks, let hz = options.onCPUHz, hz > 0 {
            programs.onCPUSample = true
            onCPUHz = hz
        }
    }

    /// The timeline ring: room for a quarter of the limit's slices (user space drains it every
    /// 100 ms), a power of two between 1 MiB and 64 MiB.
    static func timelineRingBytes(limit: Int) -> UInt32 {
        let want = max(1 << 20, min(64 << 20, limit / 4 * (MemoryLayout<swoffcpu_tl_event>.size + 8)))
        var bytes = 1 << 20
        while bytes < want { bytes <<= 1 }
        return UInt32(bytes)
    }

    /// Map sizes: room for every thread's stacks with a wide margin. The stack and lock
    /// maps are not preallocated (an entry costs memory only once used); `stack_time` is,
    /// since it takes insertions in bursts (about 100 bytes an entry), so it is left at
    /// one entry without stacks.
    static func mapSizes(threads: Int, maxStacks: UInt32?, stacks: Bool) -> MapSizes {
        let stackEntries = max(1, maxStacks ?? UInt32(clamping: max(131_072, threads * 64)))
        let stackTime = stacks ? UInt32(clamping: min(max(262_144, threads * 16), 4_194_304)) : 1
        let locks = UInt32(clamping: max(65_536, threads * 32))
        return MapSizes(userStacks: stackEntries, kernelStacks: stackEntries, userLeaves: stackEntries,
                        stackTime: stackTime, lockWaits: locks, lockWakers: locks)
    }

    /// Whether the kernel keeps per-task run-queue clocks (CONFIG_SCHED_INFO, which is
    /// what gives /proc/PID/schedstat): then wakeups are timed at switch-in.
    public static func kernelHasQueueClock() -> Bool {
        access("/proc/self/schedstat", F_OK) == 0
    }

    /// The same plan without the programs that only add detail, to retry a load the
    /// kernel refused; nil if there is nothing to leave out.
    public func withoutOptionalPrograms() -> LoadPlan? {
        guard programs.seedUserStacks else { return nil }
        var plan = self
        plan.programs.seedUserStacks = false
        return plan
    }

    /// Opens the embedded object, applies the plan and loads it: the skeleton, or why not.
    func load() -> Result<OpaquePointer, BPFError> {
        var err: Int32 = 0
        guard let skel = swoffcpu_open(&err) else { return .failure(BPFError("loading the BPF programs", errno: err)) }
        err = fastTgids.withUnsafeBufferPointer { tgids in
            var plan = cPlan(fastTgids: tgids)
            return swoffcpu_configure(skel, &plan)
        }
        if err == 0 { err = swoffcpu_follow_configure(skel, followProcesses ? 1 : 0, programs.processEvents ? 1 : 0) }
        if err == 0 { err = swoffcpu_configure_unwind(skel, unwind.mode.kernelValue, unwind.rows, unwind.processes) }
        if err == 0 { err = swoffcpu_oncpu_set_autoload(skel, programs.onCPUSample ? 1 : 0) }
        if err == 0 { err = targets.apply(skel) }
        if err == 0 { err = swoffcpu_load(skel) }
        if err != 0 {
            swoffcpu_destroy(skel)
            return .failure(BPFError("loading the BPF programs", errno: err))
        }
        return .success(skel)
    }

    private func cPlan(fastTgids: UnsafeBufferPointer<UInt32>) -> swoffcpu_load_plan {
        func flag(_ b: Bool) -> UInt32 { b ? 1 : 0 }
        return swoffcpu_load_plan(
            follow_threads: flag(followThreads), filter_tids: flag(filterTids),
            walk_user: flag(walkUser), walk_kernel: flag(walkKernel),
            walk_period_ns: walkPeriodNs, walk_one_in: walkOneIn, queue_clock: flag(queueClock),
            n_fast_tgids: UInt32(fastTgids.count), fast_tgids: fastTgids.baseAddress,
            autoload: swoffcpu_autoload(
                on_switch: flag(programs.onSwitch), on_waking: flag(programs.onWaking),
                on_wakeup: flag(programs.onWakeup), on_fork: flag(programs.onFork),
                seed_threads: flag(programs.seedThreads), seed_user_stacks: flag(programs.seedUserStacks),
                dump_threads: flag(programs.dumpThreads)),
            max_entries: swoffcpu_map_sizes(
                user_stacks: mapSizes.userStacks, kernel_stacks: mapSizes.kernelStacks,
                user_leaves: mapSizes.userLeaves, stack_time: mapSizes.stackTime,
                lock_waits: mapSizes.lockWaits, lock_wakers: mapSizes.lockWakers),
            timeline: flag(timeline), timeline_ring_bytes: timelineRingBytes,
            has_preempt_count: flag(preemptCountFromRunQueue != nil), preempt_count_from_rq: preemptCountFromRunQueue ?? 0)
    }
}
