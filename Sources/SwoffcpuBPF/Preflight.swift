import Glibc
import SwoffcpuSystem

/// Checks made before loading anything, each failing with a message that says what to do.
public enum Preflight {
    public enum Failure: Error, CustomStringConvertible, Equatable, Sendable {
        case missingCapabilities([String])
        case noBTF
        case unsupportedKernel(String)
        case notInInitialPIDNamespace

        public var description: String {
            switch self {
            case .missingCapabilities(let caps):
                "missing \(caps.joined(separator: " and ")): run as root, or grant the capabilities swoffcpu uses "
                    + "(setcap cap_bpf,cap_perfmon,cap_syslog,cap_sys_ptrace+ep swoffcpu: CAP_BPF and CAP_PERFMON to trace, "
                    + "CAP_SYSLOG for kernel symbols, CAP_SYS_PTRACE for other users' processes)"
            case .noBTF:
                "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing): swoffcpu needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
            case .unsupportedKernel(let why):
                "unsupported kernel: \(why)"
            case .notInInitialPIDNamespace:
                "swoffcpu runs in a PID namespace of its own (a container?): its BPF programs see the host's PIDs and tasks; run it in the host's PID namespace (e.g. docker run --pid=host)"
            }
        }
    }

    /// Loading tracing programs needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN, which implies both.
    public static func checkCapabilities() throws {
        guard let caps = Capabilities.effective() else { return } // cannot tell: let the load say
        if caps.has(.sysAdmin) { return }
        let missing = [Capabilities.Capability.bpf, .perfmon].filter { !caps.has($0) }.map(\.name)
        if !missing.isEmpty { throw Failure.missingCapabilities(missing) }
    }

    /// What this run will not be able to show, and why: one sentence each, said on stderr at the
    /// start and kept in the JSON report (`degraded`). The trace goes on without it.
    public static func degradations(pids: [Int32], capabilities: Capabilities? = Capabilities.effective(),
                                    btf: KernelBTF.MemberLookup? = KernelBTF.vmlinuxLookup()) -> [String] {
        var out: [String] = []
        // Parts of the kernel's types the programs read when they exist (CO-RE).
        if let btf { out += KernelBTF.missingParts(btf) }
        // Kernel frames: /proc/kallsyms shows zeros for addresses it hides.
        if let head = ProcFS.read("/proc/kallsyms").flatMap({ $0.split(separator: "\n").first }),
           head.prefix { $0 != " " }.allSatisfy({ $0 == "0" }) {
            let restrict = ProcFS.read("/proc/sys/kernel/kptr_restrict").map { $0.filter(\.isNumber) } ?? "?"
            let syslog = capabilities.map { $0.has(.syslog) } ?? true
            out.append("kernel frames unnamed: /proc/kallsyms hides its addresses (kernel.kptr_restrict=\(restrict)"
                       + (syslog ? ")" : ", and no CAP_SYSLOG)"))
        }
        // User frames and lock names: the target's maps, and its files through /proc/PID/root
        // (where its libraries' symbols and .eh_frame are read). CAP_PERFMON alone lets the maps
        // be read but not the files: without them, user stacks are cut at the leaf and unnamed.
        for pid in pids {
            let denied = { (e: Int32) in e == EACCES || e == EPERM }
            if case .failure(let e) = ProcFS.readBytes("/proc/\(pid)/maps", limit: 1), denied(e.errno) {
                out.append("user frames of pid \(pid) unnamed: its /proc/\(pid)/maps is not readable "
                           + "(another user's process: needs CAP_SYS_PTRACE, or root)")
            } else if let e = ProcFS.directoryError("/proc/\(pid)/root/"), denied(e) {
                out.append("user frames of pid \(pid) cut short and unnamed: its files (/proc/\(pid)/root) are not readable "
                           + "(another user's process: needs CAP_SYS_PTRACE, or root)")
            }
        }
        return out
    }

    /// The BPF programs see the kernel's PIDs (those of the initial namespace): from a nested PID
    /// namespace, the PIDs given on the command line would name other processes, or none.
    public static func checkPIDNamespace() throws {
        if ProcFS.inInitialPIDNamespace() == false { throw Failure.notInInitialPIDNamespace }
    }

    /// CO-RE relocation and tp_btf attachment need the kernel's own BTF.
    public static func checkBTF(path: String = "/sys/kernel/btf/vmlinux") throws {
        if access(path, R_OK) != 0 { throw Failure.noBTF }
    }
}
