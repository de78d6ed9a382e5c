import Foundation

/// The `swoffcpu` executable built with the tests (the test bundle's directory or one of
/// its parents: `swift build --build-tests` puts both in `.build/debug`), or $SWOFFCPU_BIN.
func swoffcpuBinary() throws -> String {
    if let env = ProcessInfo.processInfo.environment["SWOFFCPU_BIN"] { return env }
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { throw Procfs.Failure(description: "readlink /proc/self/exe: \(errno)") }
    let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("swoffcpu").path
        if access(candidate, X_OK) == 0 { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw Procfs.Failure(description: "no swoffcpu binary next to \(exe) (swift build --build-tests; or set SWOFFCPU_BIN)")
}

/// Waits for a child, retrying on EINTR; returns its exit code (128+signal if killed).
func waitChild(_ pid: pid_t) throws -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw Procfs.Failure(description: "waitpid: \(errno)") }
    }
    return Spawn.decode(status)
}

/// One run of a shell command line with stdout and stderr captured.
struct ShellRun {
    var code: Int32
    var stdout: String
    var stderr: String

    /// Runs `command` (a shell list: `a & b; c` is fine) under /bin/sh.
    static func run(_ command: String) throws -> ShellRun {
        let dir = NSTemporaryDirectory() + "/swoffcpu-sh-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let code = try waitChild(try Spawn.spawn("/bin/sh", ["-c", "{ \(command)\n} > '\(dir)/out' 2> '\(dir)/err'"]))
        return ShellRun(code: code,
                        stdout: (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "",
                        stderr: (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "")
    }
}

/// Where a test waits for a traced run's window to start: `swoffcpu -v` logs "tracing pids" on
/// stderr once it has. A signal or an event sent after a fixed delay from the launch instead
/// lands, on a loaded machine, while the programs still load (seen: 4–6 s for a debug build).
enum TraceWindow {
    /// A shell fragment that waits (at most 30 s) until the log file `log` says the window started.
    static func shellWait(log: String) -> String {
        "i=0; until grep -q 'tracing pids' '\(log)' || [ $i -ge 600 ]; do sleep 0.05; i=$((i+1)); done;"
    }

    /// Waits (at most 30 s) until the log file `log` says the window started; whether it did.
    static func wait(log: String) -> Bool {
        for _ in 0..<600 {
            if ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("tracing pids") { return true }
            usleep(50_000)
        }
        return false
    }
}
