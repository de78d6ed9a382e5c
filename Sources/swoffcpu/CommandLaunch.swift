import Foundation
import Glibc
import SwoffcpuSystem

/// The command of `swoffcpu -- COMMAND`: started held (forked, waiting before its first
/// instruction), released once it is traced, waited for at the end. Under sudo it runs as the
/// invoking user, with their supplementary groups.
final class CommandLaunch {
    let held: HeldCommand
    let user: InvokingUser?
    /// The stop signal forwarded to the command (once), and when.
    private(set) var forwarded: (signal: Int32, atNs: UInt64)?

    var pid: Int32 { held.pid }
    var arguments: [String] { held.arguments }

    /// Swoffcpu's environment, under sudo with HOME, USER and LOGNAME the invoking user's.
    init(arguments: [String], user: InvokingUser?) throws(LaunchError) {
        var environment = ProcessInfo.processInfo.environment
        if let user {
            environment["USER"] = user.name
            environment["LOGNAME"] = user.name
            if let home = user.home { environment["HOME"] = home }
        }
        self.user = user
        held = try HeldCommand(arguments: arguments, environment: environment, user: user)
    }

    /// Lets it run: call once it is traced.
    func release() throws(LaunchError) {
        try held.release()
    }

    /// Its status, once it has exited (reaped).
    var status: WaitStatus? { held.poll() }

    /// A stop signal swoffcpu received, passed on as a terminal would: a Ctrl-C (SIGINT, SIGQUIT)
    /// typed at the terminal whose foreground process group is swoffcpu's already reached the
    /// command, which is in that group; any other stop signal (SIGTERM, a `kill -INT`, without a
    /// terminal) is sent to it. Once.
    func forward(_ signal: Int32, nowNs: UInt64) {
        guard forwarded == nil else { return }
        forwarded = (signal, nowNs)
        if (signal == SIGINT || signal == SIGQUIT) && Self.inForegroundOfTerminal { return }
        held.signal(signal)
    }

    /// Waits for it to exit; its status as a shell gives it ($?).
    func finish() -> Int32 {
        held.wait().shellStatus
    }

    /// Whether swoffcpu's process group is the foreground group of its controlling terminal.
    static var inForegroundOfTerminal: Bool {
        let fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return tcgetpgrp(fd) == getpgrp()
    }
}
