import CLibBPF

/// The parts of the kernel's types (its BTF) the BPF programs read through CO-RE, where a
/// kernel built without them still loads the programs but shows less: what each costs.
public enum KernelBTF {
    /// A struct field the programs use when it exists, and what is lost without it.
    public struct Part: Sendable, Equatable {
        public var type: String
        public var member: String
        public var cost: String
    }

    public static let optionalParts: [Part] = [
        Part(type: "sched_info", member: "run_delay",
             cost: "on-CPU and runnable time from the tracepoints only, not checked against the kernel's clocks "
                 + "(no CONFIG_SCHED_INFO: task_struct.sched_info.run_delay missing from the kernel's BTF)"),
        Part(type: "sched_entity", member: "cfs_rq",
             cost: "the kernel's clocks and stolen time not read (no CONFIG_FAIR_GROUP_SCHED: "
                 + "sched_entity.cfs_rq missing from the kernel's BTF)"),
        Part(type: "rq", member: "prev_steal_time_rq",
             cost: "stolen time not shown apart within on-CPU (no CONFIG_PARAVIRT_TIME_ACCOUNTING: "
                 + "rq.prev_steal_time_rq missing from the kernel's BTF)"),
    ]

    /// Whether struct `type` of the running kernel has `member`; nil when the BTF cannot be read.
    public typealias MemberLookup = (_ type: String, _ member: String) -> Bool?

    /// One sentence per missing part: what this run will not show, and why.
    public static func missingParts(_ hasMember: MemberLookup) -> [String] {
        optionalParts.compactMap { part in
            hasMember(part.type, part.member) == false ? part.cost : nil
        }
    }

    /// The running kernel's BTF (/sys/kernel/btf/vmlinux), as a lookup; nil when unreadable.
    public static func vmlinuxLookup() -> MemberLookup? {
        guard let btf = btf__load_vmlinux_btf() else { return nil }
        let box = BTFBox(btf)
        return { type, member in box.has(type, member) }
    }

    private final class BTFBox: @unchecked Sendable {
        let btf: OpaquePointer
        init(_ btf: OpaquePointer) { self.btf = btf }
        deinit { btf__free(btf) }

        func has(_ type: String, _ member: String) -> Bool? {
            let id = btf__find_by_name_kind(btf, type, UInt32(BTF_KIND_STRUCT))
            guard id > 0, let t = btf__type_by_id(btf, UInt32(id)) else { return false }
            let n = Int(btf_vlen(t))
            guard let members = btf_members(t) else { return false }
            for i in 0..<n {
                if let name = btf__name_by_offset(btf, members[i].name_off), String(cString: name) == member { return true }
            }
            return false
        }
    }
}
