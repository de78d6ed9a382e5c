import CLibBPF

/// Offsets of per-CPU variables in the kernel's `.data..percpu`, from its BTF: for the
/// timeline's interrupt test (bpf/timeline.bpf.h), which finds this CPU's `__preempt_count`
/// from its run queue, kallsyms listing neither without CONFIG_KALLSYMS_ALL.
enum PerCPUOffsets {
    /// `__preempt_count`'s address less `runqueues`' (same CPU), or nil when the kernel's BTF
    /// does not have both (kernels 6.2-6.14 keep the count in `pcpu_hot`).
    static let preemptCountFromRunQueue: Int64? = {
        guard let btf = btf__load_vmlinux_btf() else { return nil }
        defer { btf__free(btf) }
        let id = btf__find_by_name_kind(btf, ".data..percpu", 15) // BTF_KIND_DATASEC (linux/btf.h)
        guard id > 0, let sec = btf__type_by_id(btf, UInt32(id)) else { return nil }
        let n = Int(btf_vlen(sec))
        guard n > 0, let infos = btf_var_secinfos(sec) else { return nil }
        var runqueues: Int64?, preempt: Int64?
        for i in 0..<n {
            let info = infos[i]
            guard let v = btf__type_by_id(btf, info.type), let name = btf__name_by_offset(btf, v.pointee.name_off) else { continue }
            switch String(cString: name) {
            case "runqueues": runqueues = Int64(info.offset)
            case "__preempt_count": preempt = Int64(info.offset)
            default: break
            }
        }
        guard let runqueues, let preempt else { return nil }
        return preempt - runqueues
    }()
}
