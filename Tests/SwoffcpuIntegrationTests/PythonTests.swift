import Foundation
import SwoffcpuCore
import SwoffcpuResolve
import Testing

/// The interpreters these tests run: Debian's python3 (scripts/install-deps.sh --test), and
/// every CPython 3.10–3.13 under ~/.pyenv/versions, where a machine has them.
let pythonInterpreters: [String] = {
    var out = ["/usr/bin/python3"]
    let root = NSHomeDirectory() + "/.pyenv/versions"
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    for v in versions.sorted() where v.hasPrefix("3.1") {
        let parts = v.split(separator: ".")
        guard parts.count >= 2, let minor = Int(parts[1]), (10...13).contains(minor) else { continue }
        let bin = "\(root)/\(v)/bin/python3.\(minor)"
        if FileManager.default.isExecutableFile(atPath: bin) { out.append(bin) }
    }
    return out
}()

/// The folded stacks of a trace: (state, frames root first, µs) per line.
struct FoldedStacks {
    struct Line {
        var state: String
        var frames: [String]
        var us: UInt64
    }

    var lines: [Line] = []
    /// The JSON report written beside (--json).
    var json: [String: Any] = [:]

    init(path: String) throws {
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            guard let space = raw.lastIndex(of: " "), let us = UInt64(raw[raw.index(after: space)...]) else { continue }
            let frames = raw[..<space].split(separator: ";").map(String.init)
            guard let state = frames.first else { continue }
            lines.append(Line(state: state, frames: Array(frames.dropFirst()), us: us))
        }
    }

    /// Whether `frames` holds frames starting with each of `sequence`, in that order (not
    /// necessarily adjacent).
    static func contains(_ frames: [String], inOrder sequence: [String]) -> Bool {
        var i = 0
        for f in frames where i < sequence.count && f.hasPrefix(sequence[i]) { i += 1 }
        return i == sequence.count
    }

    /// Of the time in `state` on lines holding a frame that starts with `anchor`: (the part
    /// whose frames hold `sequence` in order, the whole).
    func share(state: String, anchor: String, sequence: [String]) -> (UInt64, UInt64) {
        var hit: UInt64 = 0, all: UInt64 = 0
        for l in lines where l.state == state && l.frames.contains(where: { $0.hasPrefix(anchor) }) {
            all += l.us
            if Self.contains(l.frames, inOrder: sequence) { hit += l.us }
        }
        return (hit, all)
    }

    func total(state: String) -> UInt64 { lines.filter { $0.state == state }.reduce(0) { $0 + $1.us } }
}

/// The line of py_waits.py that holds `text`, as the interpreter numbers it (from 1).
func pyWaitsLine(_ text: String) -> Int {
    let source = (try? String(contentsOfFile: WorkloadBuilder.sourceDir + "/py_waits.py", encoding: .utf8)) ?? ""
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    return (lines.firstIndex { $0.contains(text) } ?? -1) + 1
}

extension IntegrationTests {
    @Suite("Python", .enabled(if: geteuid() == 0, "loads BPF programs: run as root"), .serialized)
    struct Python {
        /// Runs Workloads/py_waits.py MODE under `python`, traces it, returns its folded stacks.
        func trace(_ python: String, _ mode: String, seconds: Double = 1.5, extra: [String] = [],
                   interpreterArgs: [String] = []) throws -> FoldedStacks {
            let script = WorkloadBuilder.sourceDir + "/py_waits.py"
            let w = try Workload(name: "py_waits-\(mode)", binary: python, interpreterArgs + [script, mode])
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-python-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded", json = dir + "/out.json"
            let out = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer { close(out) }
            let code = try waitChild(try Spawn.spawn(try swoffcpuBinary(),
                                                     ["-p", "\(w.pid)", "-d", "\(seconds)", "--folded", folded, "--json", json] + extra,
                                                     stdout: out))
            #expect(code == 0)
            var f = try FoldedStacks(path: folded)
            let data = try Data(contentsOf: URL(fileURLWithPath: json))
            f.json = (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            return f
        }

        /// Checks that `sequence` holds for ≥ 95 % of the `state` time of the lines with `anchor`,
        /// and that there is such time at all.
        func expectShare(_ f: FoldedStacks, _ label: String, state: String, anchor: String, _ sequence: [String],
                         minimumUs: UInt64 = 10_000) {
            let (hit, all) = f.share(state: state, anchor: anchor, sequence: sequence)
            print("[python] \(label): \(state) with \(anchor): \(hit) of \(all) µs hold \(sequence.joined(separator: " → "))")
            #expect(all >= minimumUs, "\(label): \(all) µs \(state) under \(anchor)")
            let miss = f.lines.filter { l in
                l.state == state && l.frames.contains { $0.hasPrefix(anchor) } && !FoldedStacks.contains(l.frames, inOrder: sequence)
            }.max { $0.us < $1.us }
            let other = miss.map { "\($0.frames.joined(separator: ";")) \($0.us)" } ?? "none"
            #expect(hit * 100 >= all * 95, "\(label): \(hit) of \(all) µs hold \(sequence); largest other: \(other)")
        }

        /// threading.Lock contention, on every interpreter: the waiting threads' blocked time
        /// shows their Python functions in order (thread bootstrap → worker_lock → take_lock →
        /// the interpreter's lock acquire → the kernel's futex wait) for ≥ 95 % of it, and the
        /// holders' sleep inside the lock likewise.
        @Test(arguments: pythonInterpreters)
        func lockContention(python: String) throws {
            let f = try trace(python, "lock")
            let label = "lock " + (python.split(separator: "/").last.map(String.init) ?? python)
            let thread = python.contains("3.10") ? "threading._bootstrap (" : "threading.Thread._bootstrap ("
            let blocked = f.total(state: "blocked")
            expectShare(f, label, state: "blocked", anchor: thread,
                        [thread, "py_waits.worker_lock (py_waits.py:", "py_waits.take_lock (py_waits.py:", "futex_wait"])
            // Every blocked µs is a worker's (the main thread reads stdin: sleep).
            let (_, workers) = f.share(state: "blocked", anchor: thread, sequence: [])
            #expect(workers * 100 >= blocked * 95, "\(label): \(workers) of \(blocked) µs blocked under the threads")
            expectShare(f, label, state: "sleep", anchor: "py_waits.worker_lock",
                        ["py_waits.worker_lock (", "py_waits.take_lock (py_waits.py:\(pyWaitsLine("time.sleep(0.002)")))"])
            // The flamegraph's whole off-CPU time (every state but on-CPU): under Python frames.
            let offCPU = f.lines.filter { $0.state != "on-cpu" }
            let offTotal = offCPU.reduce(0) { $0 + $1.us }
            let offPython = offCPU.filter { $0.frames.contains { $0.hasSuffix(")") && $0.contains(".py:") } }.reduce(0) { $0 + $1.us }
            print("[python] \(label): off-CPU under Python frames \(offPython) of \(offTotal) µs")
            #expect(offPython * 100 >= offTotal * 95, "\(label): \(offPython) of \(offTotal) µs off-CPU under Python frames")
            // The lock report names the program's lock by the line that waits on it; its waits are no GIL's.
            let names = (f.json["locks"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names.contains { $0.hasPrefix("threading.Lock at py_waits.take_lock (py_waits.py:") },
                    "\(label): lock names \(names)")
            for t in threads(f) where t.blocked > 100_000_000 {
                #expect(t.gil * 10 < t.blocked, "\(label): thread \(t.tid) GIL \(t.gil) of blocked \(t.blocked) ns")
            }
            // No junk frames: nothing named after data (a variable, the heap, a stack, an
            // anonymous mapping), which a walk through code without frame pointers brings.
            let junk = f.lines.filter { l in
                l.frames.contains { $0 == "_PyRuntime" || $0.hasPrefix("[heap]") || $0.hasPrefix("[anon") || $0.hasPrefix("[stack") }
            }
            #expect(junk.isEmpty, "\(label): junk frames in \(junk.map { $0.frames.joined(separator: ";") })")
            // Thread names from the interpreter (3.11–3.13): threading.Thread.name of each worker.
            if !python.contains("3.10") {
                let processes = f.json["processes"] as? [[String: Any]] ?? []
                let names = processes.flatMap { ($0["threads"] as? [[String: Any]]) ?? [] }.compactMap { $0["python_name"] as? String }
                #expect(Set(names) == ["MainThread", "lock-0", "lock-1", "lock-2"], "\(label): python names \(names)")
            }
            // The main thread, waiting since before the trace (its stack from the seed walk).
            expectShare(f, label, state: "sleep", anchor: "py_waits.main", ["py_waits.<module> (", "py_waits.main ("],
                        minimumUs: 1_000_000)
        }

        /// The JSON's threads: (tid, blocked_ns, gil_wait_ns).
        func threads(_ f: FoldedStacks) -> [(tid: Int, blocked: UInt64, gil: UInt64)] {
            let processes = f.json["processes"] as? [[String: Any]] ?? []
            return processes.flatMap { ($0["threads"] as? [[String: Any]]) ?? [] }.map {
                (($0["tid"] as? Int) ?? 0, ($0["blocked_ns"] as? NSNumber)?.uint64Value ?? 0,
                 ($0["gil_wait_ns"] as? NSNumber)?.uint64Value ?? 0)
            }
        }

        /// Python 3.12+ with `-X perf` (perf-map trampolines, `py::…` frames): the Python frames
        /// in order, no junk frame (before: `[heap]+0x…;…;_PyRuntime;py::contend:…`).
        @Test(arguments: pythonInterpreters.filter { $0.contains("python3.12") || $0.contains("python3.13") })
        func perfTrampolines(python: String) throws {
            let f = try trace(python, "lock", interpreterArgs: ["-X", "perf"])
            let label = "perf " + (python.split(separator: "/").last.map(String.init) ?? python)
            expectShare(f, label, state: "blocked", anchor: "threading.Thread._bootstrap (",
                        ["threading.Thread._bootstrap (", "py_waits.worker_lock (py_waits.py:", "py_waits.take_lock (py_waits.py:", "futex_wait"])
            let junk = f.lines.filter { l in
                l.frames.contains { $0 == "_PyRuntime" || $0.hasPrefix("[heap]") || $0.hasPrefix("[anon") || $0.hasPrefix("py::") }
            }
            #expect(junk.isEmpty, "\(label): junk frames in \(junk.map { $0.frames.joined(separator: ";") })")
        }

        /// 3.13's `_Py_DebugOffsets`, read from a live interpreter, give the same layout as the
        /// table compiled from its headers (so a 3.13.x without a table entry reads right).
        @Test(arguments: pythonInterpreters.filter { $0.contains("python3.13") })
        func debugOffsetsAgreeWithHeaders(python: String) throws {
            let script = WorkloadBuilder.sourceDir + "/py_waits.py"
            let w = try Workload(name: "py_waits-sleep", binary: python, [script, "sleep"])
            defer { w.stop() }
            let (targets, notes) = PythonFrames.targets(pids: [w.pid])
            #expect(notes.isEmpty, "\(notes)")
            let t = try #require(targets.first)
            let fromProcess = PythonFrames.layoutFromDebugOffsets(pid: w.pid, runtime: t.runtime, hex: t.version.hex)
            #expect(fromProcess == t.layout, "debug offsets \(String(describing: fromProcess)) vs headers \(t.layout)")
        }

        /// GIL contention (three threads spinning in Python): their blocked time is waiting to
        /// take the GIL, shown as [GIL] under the spinning function for ≥ 95 % of it, and
        /// counted apart within blocked (JSON gil_wait_ns: ≥ 95 % of each spinner's blocked).
        /// A Python program that swoffcpu starts (`-f -- sh -c 'sleep 2 | python3 py_waits.py lock'`):
        /// found at its exec (PythonFollower), its frames read from then on and named while it
        /// lives — it exits before the report, so names read at the end would be unreadable.
        @Test func commandStartsPython() throws {
            let script = WorkloadBuilder.sourceDir + "/py_waits.py"
            let dir = NSTemporaryDirectory() + "/swoffcpu-python-cmd-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded"
            let out = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer { close(out) }
            let code = try waitChild(try Spawn.spawn(try swoffcpuBinary(),
                                                     ["-f", "--folded", folded, "--", "/bin/sh", "-c",
                                                      "sleep 2 | /usr/bin/python3 '\(script)' lock"], stdout: out))
            #expect(code == 0)
            let f = try FoldedStacks(path: folded)
            let thread = "threading.Thread._bootstrap ("
            expectShare(f, "command python3", state: "blocked", anchor: thread,
                        [thread, "py_waits.worker_lock (py_waits.py:", "py_waits.take_lock (py_waits.py:", "futex_wait"])
            let blocked = f.total(state: "blocked")
            let (_, framed) = f.share(state: "blocked", anchor: thread, sequence: [])
            print("[python] command: \(framed) of \(blocked) µs blocked under Python frames")
            #expect(framed * 100 >= blocked * 80, "\(framed) of \(blocked) µs blocked under Python frames")
            // Code first walked in the last 200 ms before the exit (its shutdown) may stay unnamed.
            let unreadable = f.lines.filter { $0.frames.contains { $0.contains("unreadable]") } }.reduce(0) { $0 + $1.us }
            let all = f.lines.reduce(0) { $0 + $1.us }
            #expect(unreadable * 100 <= all * 5, "\(unreadable) of \(all) µs under unreadable code objects")
        }

        @Test func gilContention() throws {
            let f = try trace("/usr/bin/python3", "gil")
            let spinners = threads(f).filter { $0.blocked > 20_000_000 }
            print("[python] gil: threads (tid, blocked, of which GIL): \(spinners)")
            #expect(spinners.count == 3)
            for t in spinners { #expect(t.gil * 100 >= t.blocked * 95, "thread \(t.tid): GIL \(t.gil) of blocked \(t.blocked) ns") }
            let gilLocks = (f.json["locks"] as? [[String: Any]] ?? []).filter { ($0["name"] as? String)?.hasPrefix("Python GIL: ") == true }
            #expect(!gilLocks.isEmpty, "the lock report names the GIL")
            expectShare(f, "gil", state: "blocked", anchor: "py_waits.worker_gil",
                        ["py_waits.worker_gil (", "[GIL]"])
            let (_, under) = f.share(state: "blocked", anchor: "[GIL]", sequence: [])
            let blocked = f.total(state: "blocked")
            #expect(under * 100 >= blocked * 95, "gil: \(under) of \(blocked) µs blocked under [GIL]")
        }

        /// time.sleep, socket and file I/O, and a thread pool: each thread's waits under its
        /// own Python functions.
        @Test func sleepIOAndPool() throws {
            let python = "/usr/bin/python3"
            let s = try trace(python, "sleep")
            expectShare(s, "sleep", state: "sleep", anchor: "py_waits.worker_sleep",
                        ["py_waits.worker_sleep (", "py_waits.nap (py_waits.py:\(pyWaitsLine("time.sleep(0.005)")))", "clock_nanosleep"])
            let io = try trace(python, "io")
            expectShare(io, "io", state: "sleep", anchor: "py_waits.worker_recv",
                        ["py_waits.worker_recv (", "py_waits.read_socket (py_waits.py:\(pyWaitsLine("return s.recv(64)")))"])
            let fileUs = io.share(state: "sleep-d", anchor: "py_waits.worker_file", sequence: []).1
                + io.share(state: "sleep", anchor: "py_waits.worker_file", sequence: []).1
            let fileHit = io.share(state: "sleep-d", anchor: "py_waits.worker_file",
                                   sequence: ["py_waits.worker_file (", "py_waits.write_file ("]).0
                + io.share(state: "sleep", anchor: "py_waits.worker_file",
                           sequence: ["py_waits.worker_file (", "py_waits.write_file ("]).0
            print("[python] io: file thread off-CPU \(fileHit) of \(fileUs) µs under write_file")
            #expect(fileUs > 0 && fileHit * 100 >= fileUs * 95)
            let pool = try trace(python, "pool")
            expectShare(pool, "pool", state: "blocked", anchor: "py_waits.pool_submitter",
                        ["py_waits.pool_submitter (", "_base.Future.result (", "threading.Condition.wait ("])
            expectShare(pool, "pool", state: "sleep", anchor: "thread._worker",
                        ["thread._worker (", "py_waits.pool_task (py_waits.py:\(pyWaitsLine("# pool_task waits here")))"])
        }
    }
}
