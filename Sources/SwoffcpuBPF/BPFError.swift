import CSwoffcpuShims
import Glibc

/// A failure of the BPF side, with the operation, the errno and libbpf's last words.
public struct BPFError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var errno: Int32
    /// The last lines libbpf printed (for a failed load: the verifier's verdict).
    public var libbpfTail: String

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno < 0 ? -errno : errno
        var buf = [CChar](repeating: 0, count: 8192)
        let n = swoffcpu_log_tail(&buf, buf.count, 12)
        self.libbpfTail = n > 0 ? String(cString: buf) : ""
    }

    public var description: String {
        "\(operation): \(String(cString: strerror(errno)))"
    }
}
