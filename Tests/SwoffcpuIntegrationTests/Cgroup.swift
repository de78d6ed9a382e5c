import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A cgroup made for one workload, for its exact CPU total: the kernel charges every
/// `update_curr()` of a task to the task's cgroup (`cgroup_account_cputime`), the very
/// deltas it adds to the task's `se.sum_exec_runtime`, until the task's last switch-out.
/// `/proc/PID/stat` misses part of that for exited threads: a thread's runtime is added
/// to its process in `release_task()`, before the end of its exit (docs/testing.md).
///
/// cgroup v2 (`cpu.stat` `usage_usec`, in the core: no controller needed) where a v2
/// hierarchy is mounted, else v1 `cpuacct` (`cpuacct.usage`, ns). Made as a child of the
/// hierarchy's root (never inside the test's own cgroup, where v2 would refuse a process
/// next to a child with controllers), removed by `remove()` once its process is reaped.
final class CPUCgroup {
    let path: String
    let kind: String
    private let usageFile: String

    /// nil when no cgroup hierarchy is mounted writable (the reason is printed).
    init?(name: String) {
        let mounts = (try? Procfs.readString("/proc/self/mountinfo")) ?? ""
        var v2: String?, v1: String?
        for line in mounts.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
            let parts = line.split(separator: " - ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let left = parts[0].split(separator: " "), right = parts[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3, left[3] == "/" else { continue }
            if right[0] == "cgroup2", v2 == nil { v2 = String(left[4]) }
            if right[0] == "cgroup", v1 == nil, right[2].split(separator: ",").contains("cpuacct") { v1 = String(left[4]) }
        }
        let candidates = [v2.map { ($0, "v2", "cpu.stat") }, v1.map { ($0, "v1 cpuacct", "cpuacct.usage") }].compactMap { $0 }
        for (root, kind, file) in candidates {
            let dir = root + "/" + name
            if mkdir(dir, 0o755) != 0 && errno != EEXIST { continue }
            guard access(dir + "/" + file, R_OK) == 0 else { rmdir(dir); continue }
            path = dir
            self.kind = kind
            usageFile = dir + "/" + file
            return
        }
        print("[cgroup] no writable cgroup hierarchy (v2: \(v2 ?? "not mounted"), v1 cpuacct: \(v1 ?? "not mounted"))")
        return nil
    }

    /// Moves every thread of process `pid` into the cgroup.
    func add(pid: Int32) throws {
        let fd = open(path + "/cgroup.procs", O_WRONLY)
        guard fd >= 0 else { throw Procfs.Failure(description: "open \(path)/cgroup.procs: errno \(errno)") }
        defer { close(fd) }
        let text = "\(pid)\n"
        let n = text.withCString { write(fd, $0, strlen($0)) }
        guard n == text.utf8.count else { throw Procfs.Failure(description: "write \(path)/cgroup.procs: errno \(errno)") }
    }

    /// CPU time charged to the cgroup so far, in ns (v2: to the µs).
    func usageNs() throws -> UInt64 {
        let text = try Procfs.readString(usageFile)
        if kind == "v2" {
            for line in text.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count == 2, f[0] == "usage_usec", let us = UInt64(f[1]) { return us * 1000 }
            }
            throw Procfs.Failure(description: "no usage_usec in \(usageFile): \(text)")
        }
        guard let ns = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Procfs.Failure(description: "unexpected \(usageFile): \(text)")
        }
        return ns
    }

    /// Removes the (empty) cgroup: call after its processes were reaped. A cgroup can
    /// stay busy for a moment after its last task is gone, hence the retries.
    func remove() {
        for _ in 0..<50 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            usleep(20_000)
        }
        print("[cgroup] could not remove \(path): errno \(errno)")
    }
}
