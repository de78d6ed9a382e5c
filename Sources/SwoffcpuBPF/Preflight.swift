import CSwoffcpuShims
import Glibc

/// Checks made before loading anything, each failing with a message that says what to do.
public enum Preflight {
    public enum Failure: Error, CustomStringConvertible, Equatable, Sendable {
        case missingCapabilities([String])
        case noBTF
        case unsupportedKernel(String)

        public var description: String {
            switch self {
            case .missingCapabilities(let caps):
                "missing \(caps.joined(separator: " and ")): run as root, or grant them (setcap cap_bpf,cap_perfmon+ep swoffcpu)"
            case .noBTF:
                "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing): swoffcpu needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
            case .unsupportedKernel(let why):
                "unsupported kernel: \(why)"
            }
        }
    }

    static let capSysAdmin = 21, capPerfmon = 38, capBPF = 39

    /// Loading tracing programs needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN, which implies both.
    public static func checkCapabilities() throws {
        var caps: UInt64 = 0
        guard swoffcpu_effective_caps(&caps) == 0 else { return } // cannot tell: let the load say
        func has(_ cap: Int) -> Bool { caps & (1 << UInt64(cap)) != 0 }
        if has(capSysAdmin) { return }
        var missing: [String] = []
        if !has(capBPF) { missing.append("CAP_BPF") }
        if !has(capPerfmon) { missing.append("CAP_PERFMON") }
        if !missing.isEmpty { throw Failure.missingCapabilities(missing) }
    }

    /// CO-RE relocation and tp_btf attachment need the kernel's own BTF.
    public static func checkBTF(path: String = "/sys/kernel/btf/vmlinux") throws {
        if access(path, R_OK) != 0 { throw Failure.noBTF }
    }
}
