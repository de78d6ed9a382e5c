import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Compiles the C workloads (Workloads/*.c) once per test run, with the flags
/// profilers expect (`cc -O1 -g -fno-omit-frame-pointer -pthread`), into
/// $TMPDIR/swoffcpu-workloads-UID: reused across runs (each run recompiles;
/// a binary is written under a temporary name, then renamed into place, so
/// concurrent runs never see a partial file).
final class WorkloadBuilder: @unchecked Sendable {
    static let shared = WorkloadBuilder()

    private let lock = NSLock()
    private var built: [String: String] = [:]
    private var outputDir: String?

    /// The workload sources: next to this file (robust for `swift test` from a
    /// checkout), else the copy SwiftPM bundles as a resource.
    static var sourceDir: String {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Workloads").path
        if FileManager.default.fileExists(atPath: here + "/workload.h") { return here }
        if let bundled = Bundle.module.url(forResource: "Workloads", withExtension: nil)?.path {
            return bundled
        }
        return here
    }

    static var compiler: String {
        ProcessInfo.processInfo.environment["CC"] ?? "cc"
    }

    /// Path of the compiled workload `name` (Workloads/NAME.c), building it on first use.
    func binary(_ name: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let path = built[name] { return path }
        if outputDir == nil {
            let dir = NSTemporaryDirectory() + "/swoffcpu-workloads-\(geteuid())"
            if mkdir(dir, 0o700) != 0 && errno != EEXIST {
                throw Procfs.Failure(description: "mkdir \(dir): \(String(cString: strerror(errno)))")
            }
            outputDir = dir
        }
        let src = Self.sourceDir
        let out = outputDir! + "/" + name
        let tmp = out + ".\(getpid()).tmp"
        let args = ["-O1", "-g", "-fno-omit-frame-pointer", "-pthread", "-Wall",
                    "-I", src, "-o", tmp, src + "/" + name + ".c"]
        let status = try Spawn.run(Self.compiler, args)
        guard status == 0, rename(tmp, out) == 0 else {
            unlink(tmp)
            throw Procfs.Failure(description: "\(Self.compiler) \(args.joined(separator: " ")) exited with \(status)")
        }
        built[name] = out
        return out
    }
}

/// posix_spawn with explicit fds, a clean signal mask and default SIGPIPE.
enum Spawn {
    static func spawn(_ path: String, _ args: [String], stdin: Int32? = nil, stdout: Int32? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?] =
            ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }

        var pid: pid_t = 0
        let rc = path.contains("/")
            ? posix_spawn(&pid, path, &actions, &attr, argv, envp)
            : posix_spawnp(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else {
            throw Procfs.Failure(description: "posix_spawn \(path): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Runs a command to completion; returns its exit status (or 128+signal).
    static func run(_ path: String, _ args: [String]) throws -> Int32 {
        let pid = try spawn(path, args)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Procfs.Failure(description: "waitpid: \(errno)") }
        }
        return decode(status)
    }

    static func decode(_ status: Int32) -> Int32 {
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }
}

/// A running workload: its pid, its named threads, its pipes. SIGKILLed and
/// reaped by `stop()` (and at the latest on deinit).
final class Workload {
    let name: String
    let pid: pid_t
    /// Thread name -> TID, from the workload's `tid NAME TID` lines.
    private(set) var tids: [String: Int32] = [:]
    /// Other lines printed before `ready` (e.g. `direct 1`).
    private(set) var info: [String] = []
    private var stdinWrite: Int32
    private var stdoutRead: Int32
    private var reaped = false
    private(set) var exitStatus: Int32?

    /// Builds (if needed) and starts Workloads/NAME.c with `args`, and waits
    /// for its `ready` line.
    /// `binary`: another build of it (a stripped copy) to start instead.
    init(_ name: String, _ args: [String] = [], readyTimeout: Double = 20, binary other: String? = nil) throws {
        self.name = name
        let binary = try other ?? WorkloadBuilder.shared.binary(name)
        var inFds: [Int32] = [0, 0]
        var outFds: [Int32] = [0, 0]
        // Close-on-exec, so no other child inherits them (dup2 onto 0/1 clears it in ours).
        guard pipe(&inFds) == 0 else { throw Procfs.Failure(description: "pipe: \(errno)") }
        guard pipe(&outFds) == 0 else {
            inFds.forEach { close($0) }
            throw Procfs.Failure(description: "pipe: \(errno)")
        }
        for fd in inFds + outFds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        do {
            pid = try Spawn.spawn(binary, args, stdin: inFds[0], stdout: outFds[1])
        } catch {
            inFds.forEach { close($0) }
            outFds.forEach { close($0) }
            throw error
        }
        close(inFds[0])
        close(outFds[1])
        stdinWrite = inFds[1]
        stdoutRead = outFds[0]
        do {
            try waitReady(timeout: readyTimeout)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    private func waitReady(timeout: Double) throws {
        let deadline = Procfs.monotonicNs() + UInt64(timeout * 1e9)
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let now = Procfs.monotonicNs()
            guard now < deadline else {
                throw Procfs.Failure(description: "\(name): no `ready` within \(timeout) s")
            }
            var p = pollfd(fd: stdoutRead, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, Int32((deadline - now) / 1_000_000) + 1)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { continue }
            let got = chunk.withUnsafeMutableBytes { Glibc.read(stdoutRead, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                throw Procfs.Failure(description: "\(name): exited before `ready` (stdout EOF)")
            }
            pending.append(contentsOf: chunk[0..<got])
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                let f = line.split(separator: " ")
                if line == "ready" { return }
                if f.count == 3, f[0] == "tid", let tid = Int32(f[2]) {
                    tids[String(f[1])] = tid
                } else {
                    info.append(line)
                }
            }
        }
    }

    /// The TID of the thread named `thread`, checked against /proc/PID/task/TID/comm.
    func tid(_ thread: String) throws -> Int32 {
        guard let tid = tids[thread] else {
            throw Procfs.Failure(description: "\(name): no thread named \(thread) (have \(tids.keys.sorted()))")
        }
        let comm = try Procfs.readString("/proc/\(pid)/task/\(tid)/comm").trimmingSuffix("\n")
        guard comm == thread else {
            throw Procfs.Failure(description: "\(name): TID \(tid) is \(comm), expected \(thread)")
        }
        return tid
    }

    /// Closing stdin asks the workload to exit (its main thread returns: exit_group).
    func closeStdin() {
        if stdinWrite >= 0 {
            close(stdinWrite)
            stdinWrite = -1
        }
    }

    /// Waits up to `timeout` s for the workload to exit on its own, and reaps it.
    @discardableResult
    func waitExit(timeout: Double) -> Bool {
        if reaped { return true }
        let deadline = Procfs.monotonicNs() + UInt64(timeout * 1e9)
        while Procfs.monotonicNs() < deadline {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                reaped = true
                exitStatus = Spawn.decode(status)
                return true
            }
            if r < 0 && errno != EINTR { reaped = true; return true }
            usleep(2000)
        }
        return false
    }

    /// SIGKILL and reap; idempotent.
    func stop() {
        if !reaped {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while true {
                let r = waitpid(pid, &status, 0)
                if r == pid { exitStatus = Spawn.decode(status); break }
                if r < 0 && errno == EINTR { continue }
                break
            }
            reaped = true
        }
        closeStdin()
        if stdoutRead >= 0 {
            close(stdoutRead)
            stdoutRead = -1
        }
    }
}

/// The churn workload's log (Workloads/churn.c, -f): a count of children
/// created, then each child's TID by creation order.
final class ChurnLog {
    static let slots = 1 << 20
    private let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Procfs.Failure(description: "open \(path): \(errno)") }
    }

    deinit { close(fd) }

    /// Children created so far.
    func created() -> UInt64? {
        var n: UInt64 = 0
        return pread(fd, &n, 8, 0) == 8 ? n : nil
    }

    /// TIDs of children 0..<n (slot i holds child i mod `slots`).
    func tids(upTo n: UInt64) -> [UInt32] {
        let count = Int(min(n, UInt64(Self.slots)))
        var out = [UInt32](repeating: 0, count: count)
        var done = 0
        while done < count * 4 {
            let r = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count * 4 - done, off_t(8 + done)) }
            if r <= 0 { break }
            done += r
        }
        return (0..<Int(n)).map { out[$0 % Self.slots] }
    }
}
