import CSwoffcpuSystem
import Glibc

/// The user who ran swoffcpu through sudo (`SUDO_UID`, `SUDO_GID`): the command runs as that
/// user, and the files swoffcpu writes belong to them.
public struct InvokingUser: Sendable, Equatable {
    public var uid: uid_t
    public var gid: gid_t
    public var name: String
    public var home: String?
    /// Supplementary groups (getgrouplist), the primary group included.
    public var groups: [gid_t]

    /// The user sudo was run by, when swoffcpu runs as root under sudo; nil otherwise (or when
    /// `SUDO_UID` names root itself).
    public static func fromSudo(environment: [String: String]) -> InvokingUser? {
        guard geteuid() == 0, let uidText = environment["SUDO_UID"], let uid = uid_t(uidText), uid != 0 else {
            return nil
        }
        var gid = environment["SUDO_GID"].flatMap { gid_t($0) }
        var name = environment["SUDO_USER"] ?? "\(uid)"
        var home: String?
        if let pw = getpwuid(uid) {
            name = String(cString: pw.pointee.pw_name)
            home = String(cString: pw.pointee.pw_dir)
            if gid == nil { gid = pw.pointee.pw_gid }
        }
        let primary = gid ?? gid_t(uid)
        var groups = [UInt32](repeating: 0, count: 1024)
        let n = swoffcpu_user_groups(name, primary, &groups, Int32(groups.count))
        return InvokingUser(uid: uid, gid: primary, name: name, home: home,
                            groups: n > 0 ? Array(groups[..<Int(n)]) : [primary])
    }
}

/// How a process ended, as wait(2) reports it.
public struct WaitStatus: Sendable, Equatable {
    public var raw: Int32

    public init(raw: Int32) { self.raw = raw }

    /// The exit code, if it exited.
    public var exitCode: Int32? { raw & 0x7f == 0 ? (raw >> 8) & 0xff : nil }
    /// The signal that killed it, if one did.
    public var signal: Int32? { raw & 0x7f != 0 && raw & 0x7f != 0x7f ? raw & 0x7f : nil }
    /// What a shell says for it: the exit code, or 128 + the signal.
    public var shellStatus: Int32 { exitCode ?? (128 + (signal ?? 0)) }
}

/// Why a command could not be started.
public struct LaunchError: Error, Equatable, Sendable, CustomStringConvertible {
    public var command: String
    public var errno: Int32
    public var step: String

    public var description: String {
        "cannot \(step) '\(command)': \(String(cString: strerror(errno)))"
    }

    /// 127 when the command is not found or not runnable (as a shell says), else 126.
    public var shellStatus: Int32 { errno == ENOENT ? 127 : 126 }
}

/// A command started held: forked, waiting before its first instruction until `release`.
/// Its stdin, stdout and stderr are swoffcpu's; it stays in swoffcpu's process group, so a
/// Ctrl-C at the terminal reaches it as it would without swoffcpu.
public final class HeldCommand {
    public let pid: Int32
    public let arguments: [String]
    private var launch: swoffcpu_launch
    private var released = false
    private var status: WaitStatus?

    /// Forks the command held. `arguments[0]` is searched in `PATH` (of `environment`) unless it
    /// has a slash; with `user`, the command runs as that user (supplementary groups, gid, uid).
    public init(arguments: [String], environment: [String: String], user: InvokingUser?) throws(LaunchError) {
        precondition(!arguments.isEmpty)
        self.arguments = arguments
        let name = arguments[0]
        guard let path = Self.search(name, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            throw LaunchError(command: name, errno: ENOENT, step: "find")
        }
        let env = environment.map { "\($0.key)=\($0.value)" }.sorted()
        var launch = swoffcpu_launch(pid: 0, release_fd: -1, error_fd: -1)
        let err = Self.withCStrings(arguments) { argv in
            Self.withCStrings(env) { envp in
                let groups = user?.groups ?? []
                return groups.withUnsafeBufferPointer { g in
                    swoffcpu_launch_held(path, argv, envp, user.map { Int32(bitPattern: $0.uid) } ?? -1,
                                         user.map { Int32(bitPattern: $0.gid) } ?? -1, g.baseAddress, Int32(g.count), &launch)
                }
            }
        }
        if err != 0 { throw LaunchError(command: name, errno: -err, step: "start") }
        self.launch = launch
        self.pid = launch.pid
    }

    deinit {
        if !released { swoffcpu_launch_cancel(&launch) }
    }

    /// Lets the command run (it execs now); throws if it could not (it has then exited, 127).
    /// A command already gone (killed by a signal while held: a Ctrl-C at the terminal) is not
    /// an error: `poll` gives its status.
    public func release() throws(LaunchError) {
        guard !released else { return }
        released = true
        let err = swoffcpu_launch_release(&launch)
        if err == EPIPE { return }
        if err != 0 { throw LaunchError(command: arguments[0], errno: err, step: "run") }
    }

    /// Ends a held command without running it.
    public func cancel() {
        guard !released else { return }
        released = true
        swoffcpu_launch_cancel(&launch)
        _ = wait()
    }

    /// Its status if it has ended (reaped now), nil while it runs.
    public func poll() -> WaitStatus? {
        if let status { return status }
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, WNOHANG)
        if r == pid { status = WaitStatus(raw: raw) }
        return status
    }

    /// Waits for it to end.
    public func wait() -> WaitStatus {
        if let status { return status }
        var raw: Int32 = 0
        while true {
            let r = waitpid(pid, &raw, 0)
            if r == pid { break }
            if r < 0 && errno != EINTR { raw = 0; break }
        }
        let status = WaitStatus(raw: raw)
        self.status = status
        return status
    }

    /// Sends it a signal (while it has not been reaped).
    public func signal(_ sig: Int32) {
        if status == nil { _ = kill(pid, sig) }
    }

    /// The executable `name` names: itself with a slash, else the first executable regular
    /// file of that name in `path`.
    static func search(_ name: String, path: String) -> String? {
        if name.contains("/") { return name }
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            var st = stat()
            if stat(candidate, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }
}
