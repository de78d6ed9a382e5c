import Glibc

/// A cgroup of the cgroup v2 hierarchy, named by its directory (`--cgroup PATH`), as the
/// kernel side tests membership: its kernfs id (the directory's inode number, which is what
/// `bpf_get_current_cgroup_id` and `cgroup->kn->id` give on 64-bit kernels) and its level
/// (depth below the hierarchy's root, the root being level 0).
public struct CgroupV2: Sendable, Equatable {
    /// The directory, as resolved (no symbolic links, no trailing slash).
    public let path: String
    /// The cgroup2 mount point it lies under.
    public let mount: String
    public let id: UInt64
    public let level: UInt32

    /// Resolves `path`: it must be a directory of a mounted cgroup2 file system.
    public init(path: String) throws(CgroupError) {
        guard let resolved = realpath(path, nil) else { throw .notFound(path, errno: errno) }
        let real = String(cString: resolved)
        free(resolved)
        var st = stat()
        guard stat(real, &st) == 0 else { throw .notFound(path, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw .notACgroup(path, why: "not a directory") }
        guard let mount = Self.mountPoint(containing: real) else {
            throw .notACgroup(path, why: "not in a cgroup v2 file system (cgroup2 is mounted at \(Self.mountPoint() ?? "no place"))")
        }
        self.path = real
        self.mount = mount
        self.id = UInt64(st.st_ino)
        let below = real.dropFirst(mount.count).split(separator: "/")
        self.level = UInt32(below.count)
    }

    /// The first cgroup2 mount point (usually /sys/fs/cgroup).
    public static func mountPoint() -> String? { mounts().first }

    /// The longest cgroup2 mount point that is `path` or a directory above it.
    static func mountPoint(containing path: String) -> String? {
        mounts().filter { path == $0 || path.hasPrefix($0 == "/" ? "/" : $0 + "/") }.max { $0.count < $1.count }
    }

    private static func mounts() -> [String] {
        guard let text = ProcFS.read("/proc/self/mountinfo") else { return [] }
        var out: [String] = []
        for line in text.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
            let parts = line.split(separator: " - ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let left = parts[0].split(separator: " "), right = parts[1].split(separator: " ")
            guard left.count >= 5, right.first == "cgroup2" else { continue }
            out.append(Self.unescape(String(left[4])))
        }
        return out
    }

    /// mountinfo escapes space, tab, newline and backslash as octal (\040).
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var bytes: [UInt8] = []
        var u = Array(s.utf8)[...]
        while let b = u.popFirst() {
            if b == UInt8(ascii: "\\"), u.count >= 3, let v = UInt8(String(decoding: u.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(v)
                u = u.dropFirst(3)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The processes in the cgroup and its descendants now (each cgroup's `cgroup.procs`).
    public func processes() -> [Int32] {
        var pids: [Int32] = []
        var dirs = [path]
        while let dir = dirs.popLast() {
            if let text = ProcFS.read(dir + "/cgroup.procs") {
                pids += text.split(separator: "\n").compactMap { Int32($0) }
            }
            guard let d = opendir(dir) else { continue }
            while let entry = readdir(d) {
                guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { dirs.append(dir + "/" + name) }
            }
            closedir(d)
        }
        return Array(Set(pids)).sorted()
    }
}

public enum CgroupError: Error, CustomStringConvertible, Equatable, Sendable {
    case notFound(String, errno: Int32)
    case notACgroup(String, why: String)

    public var description: String {
        switch self {
        case let .notFound(path, e): "cgroup '\(path)': \(String(cString: strerror(e)))"
        case let .notACgroup(path, why): "'\(path)' is not a cgroup v2 directory: \(why)"
        }
    }
}

extension ProcFS {
    /// Every process of the machine now (the numeric directories of /proc).
    public static func allProcesses() -> [Int32] {
        guard let d = opendir("/proc") else { return [] }
        defer { closedir(d) }
        var pids: [Int32] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids.sorted()
    }
}
