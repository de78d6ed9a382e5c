import Glibc

/// Small readers of /proc. procfs files are read with a loop until EOF: a single
/// read (or Foundation's String(contentsOfFile:)) can return only the first chunk.
public enum ProcFS {
    /// The whole file, or nil if it cannot be opened (process gone, no permission).
    public static func read(_ path: String) -> String? {
        guard case .success(let bytes) = readBytes(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The whole file's bytes (stopping once past `limit`), or the errno of the failed open or read.
    /// Also for other files whose size cannot be trusted (kallsyms, files of another mount namespace).
    public static func readBytes(_ path: String, limit: Int = 1 << 30) -> Result<[UInt8], ProcFSError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ProcFSError(operation: "open", path: path, errno: errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ProcFSError(operation: "read", path: path, errno: errno))
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
            if out.count > limit { break }
        }
        return .success(out)
    }

    /// The thread-group id of a task (a process's PID, or the process a thread belongs to).
    public static func tgid(of tid: Int32) -> Int32? {
        guard let status = read("/proc/\(tid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Tgid:") {
            return Int32(line.dropFirst(5).trimmingCharacters(in: " \t"))
        }
        return nil
    }

    /// The number of threads of a process (0 if it is gone).
    public static func threadCount(of pid: Int32) -> Int {
        guard let status = read("/proc/\(pid)/status") else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
            return Int(line.dropFirst(8).trimmingCharacters(in: " \t")) ?? 0
        }
        return 0
    }

    /// The `comm` of a process or thread.
    public static func comm(of pid: Int32, tid: Int32? = nil) -> String? {
        let path = tid.map { "/proc/\(pid)/task/\($0)/comm" } ?? "/proc/\(pid)/comm"
        return read(path).map { String($0.prefix { $0 != "\n" }) }
    }

    /// The one-letter state of /proc/PID/stat (R, S, D, Z, X, …), nil if the process is gone.
    public static func state(of pid: Int32) -> Character? {
        guard let stat = read("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].first { $0 != " " }
    }

    /// Whether the process is gone or a zombie: none of its threads can run again.
    public static func hasExited(_ pid: Int32) -> Bool {
        guard let s = state(of: pid) else { return true }
        return s == "Z" || s == "X" || s == "x"
    }
}

/// A failed open or read of a /proc file.
public struct ProcFSError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var path: String
    public var errno: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

extension Substring {
    public func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}
