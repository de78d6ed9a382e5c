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
        return readAll(fd: fd, limit: limit).mapError { ProcFSError(operation: "read", path: path, errno: $0.errno) }
    }

    /// A failed read(2): its errno.
    public struct ReadError: Error, Sendable {
        public var errno: Int32
    }

    /// Reads an open file until EOF (stopping once past `limit`), retrying on EINTR; or the errno.
    public static func readAll(fd: Int32, limit: Int = 1 << 30) -> Result<[UInt8], ReadError> {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ReadError(errno: errno))
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
            if out.count > limit { break }
        }
        return .success(out)
    }

    /// The errno of opening `path` as a directory, or nil if it opens.
    public static func directoryError(_ path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        close(fd)
        return nil
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

    /// The process's start time, in clock ticks after boot (field 22 of /proc/PID/stat): with the
    /// PID, it names one process, even after the PID is reused.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the comm: state is field 3, start time field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// What tells one executable image of a process from the next after an exec: where its
    /// code and stack start and end (fields 26–28 of /proc/PID/stat; an exec maps them anew,
    /// elsewhere under ASLR) and the executable's path. Nil when the process is gone.
    public static func imageIdentity(of pid: Int32) -> String? {
        guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 25 else { return nil }
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/exe", &buf, buf.count - 1)
        let exe = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return "\(fields[23]) \(fields[24]) \(fields[25]) \(exe)"
    }

    /// Whether this process runs in the initial PID namespace (its /proc/self/ns/pid is
    /// `pid:[4026531836]`, the kernel's PROC_PID_INIT_INO). BPF programs see the initial
    /// namespace's PIDs, and task iterators walk only the tasks of the caller's namespace: from a
    /// nested one, a trace seeds nothing (seen: `unshare --pid --fork swoffcpu -p PID` traced
    /// 0 threads). Nil when the link cannot be read.
    public static func inInitialPIDNamespace() -> Bool? {
        var buf = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/self/ns/pid", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == "pid:[4026531836]"
    }
}

/// One process, told apart from a later process that reuses its PID.
public struct ProcessIdentity: Hashable, Sendable {
    public let pid: Int32
    /// Clock ticks after boot (`ProcFS.startTime`).
    public let startTime: UInt64

    /// The process now running as `pid`, if any.
    public init?(pid: Int32) {
        guard let start = ProcFS.startTime(of: pid) else { return nil }
        self.pid = pid
        self.startTime = start
    }

    /// Whether this very process has exited (or is a zombie): also true once its PID names
    /// another process.
    public var hasExited: Bool {
        ProcFS.startTime(of: pid) != startTime || ProcFS.hasExited(pid)
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
