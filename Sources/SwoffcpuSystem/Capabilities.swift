import CSwoffcpuSystem

/// The process's effective capabilities (capget).
public struct Capabilities: Sendable {
    public let mask: UInt64

    /// The capabilities swoffcpu asks about, by their number in linux/capability.h.
    public enum Capability: Int, Sendable, CaseIterable {
        case sysAdmin = 21
        case syslog = 34
        case perfmon = 38
        case bpf = 39
        case sysPtrace = 19

        /// The name the kernel's documentation and capsh use.
        public var name: String {
            switch self {
            case .sysAdmin: "CAP_SYS_ADMIN"
            case .syslog: "CAP_SYSLOG"
            case .perfmon: "CAP_PERFMON"
            case .bpf: "CAP_BPF"
            case .sysPtrace: "CAP_SYS_PTRACE"
            }
        }
    }

    /// The effective set of this process, nil when the kernel does not say.
    public static func effective() -> Capabilities? {
        var caps: UInt64 = 0
        guard swoffcpu_effective_caps(&caps) == 0 else { return nil }
        return Capabilities(mask: caps)
    }

    public init(mask: UInt64) {
        self.mask = mask
    }

    public func has(_ cap: Capability) -> Bool {
        mask & (1 << UInt64(cap.rawValue)) != 0
    }
}
