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
                "missing \(caps.joined(separator: " and ")): run as root, or grant them (setcap cap_bpf,cap_perfmon+ep swoffcpu)"
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
