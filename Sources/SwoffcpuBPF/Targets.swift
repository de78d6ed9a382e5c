import CSwoffcpuShims
import SwoffcpuCore
import SwoffcpuSystem

/// Which tasks a trace covers beyond -p/-t (bpf/targets.bpf.h).
public enum TraceTarget: Sendable, Equatable {
    /// The processes and threads of `TraceOptions.pids` / `tids`.
    case pids
    /// Every task of a cgroup v2 and its descendants, also tasks moved in or born there while
    /// tracing; a task moved out stops being traced at the move (its record ends there).
    case cgroup(CgroupV2)
    /// Every task of the machine (kernel threads included).
    case all
}

extension LoadPlan {
    /// The kernel side's target settings (`target_mode`, the cgroup's id and level) and
    /// whether the cgroup move program (tp_btf/cgroup_attach_task) loads.
    public struct TargetSettings: Sendable, Equatable {
        public var mode: UInt32 = UInt32(SWOFFCPU_TARGET_PIDS)
        public var cgroupID: UInt64 = 0
        public var cgroupLevel: UInt32 = 0
        public var onCgroupAttach = false

        public init(_ target: TraceTarget = .pids) {
            switch target {
            case .pids: break
            case .cgroup(let cgroup):
                mode = UInt32(SWOFFCPU_TARGET_CGROUP)
                cgroupID = cgroup.id
                cgroupLevel = cgroup.level
                onCgroupAttach = true
            case .all:
                mode = UInt32(SWOFFCPU_TARGET_ALL)
            }
        }

        func apply(_ skel: OpaquePointer) -> Int32 {
            var plan = swoffcpu_targets_plan(mode: mode, cgroup_level: cgroupLevel, cgroup_id: cgroupID,
                                             on_cgroup_attach: onCgroupAttach ? 1 : 0)
            return swoffcpu_configure_targets(skel, &plan)
        }
    }
}

extension TraceTarget {
    /// The processes it names now: for seeding nothing (the kernel side decides), but for
    /// sizing maps and taking symbol snapshots.
    public func processesNow(pids: [Int32]) -> [Int32] {
        switch self {
        case .pids: pids
        case .cgroup(let cgroup): cgroup.processes()
        case .all: ProcFS.allProcesses()
        }
    }
}

extension TraceSession {
    /// Records begun where task storage could not be created (a process moved into the
    /// cgroup: bpf/task.bpf.h, `acct_pending`), kept aside until their task's next event:
    /// traced all the same, not lost (lost ones are `LostCounts.untracedThreads`).
    public var deferredRecords: UInt64 { counter(SWOFFCPU_CTR_DEFERRED) }

    /// A live look while tracing (--interval): every traced thread's cumulative record now —
    /// live threads from the dump iterator (open intervals counted up to now, not closed),
    /// threads that exited or left the cgroup from their final records — on-CPU and
    /// runnable taken from the kernel's clocks as in the final report. Deduplicated per
    /// thread life (tid, start).
    public func liveRecords() throws -> [ThreadRecord] {
        let live = try runLiveDump()
        poll()
        return ReportBuilder(windowStartNs: windowStartNs, windowEndNs: .max,
                             exits: exitRecords, dump: live).build().processes.flatMap(\.threads)
            .map { r in
                var r = r
                r.reconcileWithKernelClocks()
                return r
            }
    }
}
