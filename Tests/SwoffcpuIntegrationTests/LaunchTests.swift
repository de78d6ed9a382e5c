import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// `swoffcpu -- COMMAND` and `--follow`: the command and every process it starts traced from
    /// their start, swoffcpu exiting with the command's status, and under sudo the command and
    /// the files belonging to the invoking user.
    @Suite("Command and follow", .enabled(if: geteuid() == 0, "runs swoffcpu, which loads BPF programs: run as root"))
    struct Launch {
        /// A scratch directory, removed at the end.
        final class Scratch {
            let path: String
            init() throws {
                path = NSTemporaryDirectory() + "/swoffcpu-launch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
            deinit { try? FileManager.default.removeItem(atPath: path) }
        }

        typealias Object = [String: Any]

        static func processes(_ jsonPath: String) throws -> [Object] {
            let data = try Data(contentsOf: URL(fileURLWithPath: jsonPath))
            let doc = try #require(try JSONSerialization.jsonObject(with: data) as? Object)
            return try #require(doc["processes"] as? [Object])
        }

        static func uint(_ o: Object, _ key: String) -> UInt64 { (o[key] as? NSNumber)?.uint64Value ?? 0 }
        static func int(_ o: Object, _ key: String) -> Int64? { (o[key] as? NSNumber)?.int64Value }

        /// Checks the accounting of every thread and process of a followed trace: a thread's
        /// states add up to its time in the window, a process's totals are its threads' sums, and a
        /// process born in the window has its first thread traced from its birth (within 1 ms).
        static func expectSound(_ processes: [Object], sourceLocation: SourceLocation = #_sourceLocation) {
            let states = ["on_cpu_ns", "runnable_ns", "sleep_ns", "blocked_ns"]
            for p in processes {
                let threads = (p["threads"] as? [Object]) ?? []
                #expect(!threads.isEmpty, "pid \(p["pid"] ?? "?"): no thread", sourceLocation: sourceLocation)
                for t in threads {
                    let sum = states.reduce(0) { $0 + uint(t, $1) }
                    #expect(sum == uint(t, "window_ns"), "tid \(t["tid"] ?? "?"): states \(sum) != window \(uint(t, "window_ns"))",
                            sourceLocation: sourceLocation)
                    #expect(uint(t, "end_ns") - uint(t, "start_ns") == uint(t, "window_ns"), sourceLocation: sourceLocation)
                }
                for s in states + ["window_ns"] where s != "window_ns" {
                    #expect(uint(p, s) == threads.reduce(0) { $0 + uint($1, s) }, "pid \(p["pid"] ?? "?") \(s)",
                            sourceLocation: sourceLocation)
                }
                if let born = (p["born_ns"] as? NSNumber)?.uint64Value {
                    let first = threads.map { uint($0, "start_ns") }.min() ?? 0
                    #expect(first >= born && first - born < 1_000_000,
                            "pid \(p["pid"] ?? "?"): born at \(born), first thread traced from \(first)", sourceLocation: sourceLocation)
                }
            }
        }

        /// Checks that a command which forks a shell pipeline and execs, traced with --follow,
        /// shows every one of its processes from its start with its parent, command line and exit
        /// status; that its threads' times add up; and that swoffcpu exits with its status (7).
        @Test func followsAPipelineAndAnExec() throws {
            let dir = try Scratch()
            let forker = try WorkloadBuilder.shared.binary("forker")
            let r = try ShellRun.run("'\(try swoffcpuBinary())' --follow --json '\(dir.path)/r.json' --folded '\(dir.path)/o.folded' -- '\(forker)'")
            #expect(r.code == 7, "exit \(r.code); stderr: \(r.stderr)")
            #expect(r.stdout.isEmpty, "the command's stdout is its own: \(r.stdout)")
            #expect(r.stderr.contains("pid "), "the table goes to stderr")
            let processes = try Self.processes(dir.path + "/r.json")
            Self.expectSound(processes)
            let byComm = Dictionary(grouping: processes) { $0["comm"] as? String ?? "" }
            // forker (exec'ed into sh), the pipeline's sh, sleep, cat.
            #expect(processes.count == 4, "processes: \(processes.map { "\($0["pid"] ?? "?") \($0["comm"] ?? "?")" })")
            let command = try #require(processes.first { $0["command"] as? Bool == true })
            #expect(command["comm"] as? String == "sh") // its last exec
            #expect(command["argv"] as? [String] == ["sh", "-c", "exit 7"])
            #expect(Self.int(try #require(command["exit"] as? Object), "code") == 7)
            #expect((command["threads"] as? [Object])?.count == 2, "forker's main thread and its napper")
            // The command was held until traced: its main thread is seeded, not born.
            let main = try #require((command["threads"] as? [Object])?.first { Self.int($0, "tid") == Self.int(command, "pid") })
            #expect(main["seeded"] as? Bool == true)
            let pipeline = try #require(processes.first { ($0["argv"] as? [String])?.last == "sleep 0.2 | cat > /dev/null" })
            #expect(Self.int(pipeline, "ppid") == Self.int(command, "pid"))
            for name in ["sleep", "cat"] {
                let p = try #require(byComm[name]?.first, "\(name) traced")
                #expect(Self.int(p, "ppid") == Self.int(pipeline, "pid"), "\(name)'s parent is the pipeline's shell")
                #expect(p["born_ns"] != nil && !(p["born_ns"] is NSNull), "\(name) born in the window")
                #expect(Self.int(try #require(p["exit"] as? Object), "code") == 0)
                #expect(p["exited"] as? Bool == true)
            }
            #expect(Self.uint(try #require(byComm["sleep"]?.first), "sleep_ns") > 150_000_000, "sleep 0.2 sleeps")
            // The folded stacks were written.
            let folded = try String(contentsOfFile: dir.path + "/o.folded", encoding: .utf8)
            #expect(!folded.isEmpty)
        }

        /// Checks the issue's case: `swoffcpu --follow --folded out.folded -- make -j2` traces every
        /// process make starts (two recipes in parallel, each a shell pipeline) and exits with make's
        /// status, 0 and then 2 for a failing recipe.
        @Test func followsMake() throws {
            let dir = try Scratch()
            try """
            all: a b
            a:
            \tsleep 0.2 | cat > /dev/null
            b:
            \techo x | tr x y > /dev/null
            fail:
            \tsleep 0.1; exit 3

            """.write(toFile: dir.path + "/Makefile", atomically: true, encoding: .utf8)
            let bin = try swoffcpuBinary()
            let ok = try ShellRun.run("cd '\(dir.path)' && '\(bin)' --follow --folded out.folded --json r.json -- make -s -j2")
            #expect(ok.code == 0, "stderr: \(ok.stderr)")
            let processes = try Self.processes(dir.path + "/r.json")
            Self.expectSound(processes)
            let comms = Set(processes.compactMap { $0["comm"] as? String })
            for name in ["make", "sleep", "cat", "tr"] { #expect(comms.contains(name), "\(name) in \(comms)") }
            let make = try #require(processes.first { $0["command"] as? Bool == true })
            // Every other process descends from make.
            let parents = Dictionary(uniqueKeysWithValues: processes.map { (Self.int($0, "pid")!, Self.int($0, "ppid")) })
            for p in processes where p["command"] as? Bool != true {
                var pid = Self.int(p, "pid"), hops = 0
                while let current = pid, current != Self.int(make, "pid"), hops < 10 { pid = parents[current] ?? nil; hops += 1 }
                #expect(pid == Self.int(make, "pid"), "pid \(p["pid"] ?? "?") (\(p["comm"] ?? "?")) descends from make")
            }
            #expect(!(try String(contentsOfFile: dir.path + "/out.folded", encoding: .utf8)).isEmpty)
            let failing = try ShellRun.run("cd '\(dir.path)' && '\(bin)' --follow --no-stacks -- make -s fail")
            #expect(failing.code == 2, "make's status for a failed recipe; stderr: \(failing.stderr)")
        }

        /// Checks that swoffcpu exits with the command's status: its exit code, 128 + the signal
        /// that killed it, 127 for a command not found; and that the report says how it ended.
        @Test func exitStatus() throws {
            let bin = try swoffcpuBinary()
            for (command, status, said) in [("exit 5", Int32(5), "exit 5"), ("kill -TERM $$", 143, "killed by SIGTERM"),
                                            ("kill -KILL $$", 137, "killed by SIGKILL"), ("true", 0, "exit 0")] {
                let r = try ShellRun.run("'\(bin)' --no-stacks -- sh -c '\(command)'")
                #expect(r.code == status, "\(command): exit \(r.code), stderr: \(r.stderr)")
                #expect(r.stderr.contains(said), "\(command): the table says \(said): \(r.stderr)")
            }
            let missing = try ShellRun.run("'\(bin)' --no-stacks -- /nonexistent/command")
            #expect(missing.code == 127)
            #expect(missing.stderr.contains("/nonexistent/command"))
            let stdoutRefused = try ShellRun.run("'\(bin)' --json - -- true")
            #expect(stdoutRefused.code == 64)
        }

        /// Checks that a stop signal sent to swoffcpu (not from a terminal) is forwarded to the
        /// command, whose handling of it is still traced, and that swoffcpu exits with its status.
        @Test func forwardsAStopSignal() throws {
            let dir = try Scratch()
            let r = try ShellRun.run("""
                '\(try swoffcpuBinary())' -v --no-stacks --json '\(dir.path)/r.json' \
                  -- sh -c 'sleep 30 & p=$!; trap "kill $p; echo got-int; exit 9" INT; wait' 2> '\(dir.path)/log' & s=$!
                \(TraceWindow.shellWait(log: dir.path + "/log")) sleep 0.5; kill -INT $s; wait $s; echo "swoffcpu=$?"
                """)
            #expect(r.stdout.contains("got-int"), "the command got the SIGINT: \(r.stdout)")
            #expect(r.stdout.contains("swoffcpu=9"), "\(r.stdout) \(r.stderr)")
            let processes = try Self.processes(dir.path + "/r.json")
            let command = try #require(processes.first { $0["command"] as? Bool == true })
            #expect(Self.int(try #require(command["exit"] as? Object), "code") == 9)
        }

        /// Checks a Ctrl-C typed at a terminal (a pseudo-terminal made by `script`, util-linux):
        /// it reaches the command, in the terminal's foreground process group with swoffcpu,
        /// once (swoffcpu does not send a second one), and the trace ends when the command exits.
        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script (bsdutils)"))
        func ctrlCAtTheTerminalReachesTheCommandOnce() throws {
            let dir = try Scratch()
            // The command says when its trap is set and it waits (the `ready` file), and the
            // Ctrl-C is typed only then: a fixed delay raced the command's start on a busy machine.
            // After the first SIGINT it still waits 0.5 s, in which a second one would be counted.
            // `exec`: `script -c` runs its command through $SHELL, and that shell, in the
            // terminal's foreground group too, gets the Ctrl-C; dash (CI's /bin/sh) then exits
            // 130 even though its child exited 3, bash waits for the child. Not under test here.
            try """
            n=0
            trap 'n=$((n+1))' INT
            sleep 30 & p=$!
            : > '\(dir.path)/ready'
            wait $p
            sleep 0.5
            kill $p 2>/dev/null
            echo "ints=$n"
            exit 3

            """.write(toFile: dir.path + "/cmd.sh", atomically: true, encoding: .utf8)
            let log = dir.path + "/log"
            let r = try ShellRun.run("""
                ( i=0; while [ ! -e '\(dir.path)/ready' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
                  sleep 0.2; printf '\\003'; sleep 3 ) \
                  | script -qfec "exec '\(try swoffcpuBinary())' -v --no-stacks -- sh '\(dir.path)/cmd.sh' 2> '\(log)'" /dev/null
                """)
            #expect(r.code == 3, "the command's status: \(r.code) \(r.stdout)")
            #expect(r.stdout.contains("ints=1"), "one SIGINT reached the command: \(r.stdout)")
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text.contains("trace ended: the command exited"))
        }

        /// Checks that the shell completions generated from the parser know the new options and
        /// are valid bash (zsh and fish are checked when installed).
        @Test func completions() throws {
            let bin = try swoffcpuBinary()
            for shell in ["bash", "zsh", "fish"] {
                let r = try ShellRun.run("'\(bin)' --generate-completion-script \(shell)")
                #expect(r.code == 0)
                #expect(r.stdout.contains("follow") && r.stdout.contains("output-dir"), "\(shell) completion") // fish: -l follow
            }
            let bash = try ShellRun.run("'\(bin)' --generate-completion-script bash > /tmp/swoffcpu-completion-\(getpid()).bash && bash -n /tmp/swoffcpu-completion-\(getpid()).bash; c=$?; rm -f /tmp/swoffcpu-completion-\(getpid()).bash; exit $c")
            #expect(bash.code == 0, "\(bash.stderr)")
        }

        /// Checks -p with --follow: the processes a running target starts after the window opened
        /// are traced from birth, and the trace ends when they and the target have exited.
        @Test func followsATargetGivenByPID() throws {
            let dir = try Scratch()
            let fifo = dir.path + "/go"
            #expect(mkfifo(fifo, 0o600) == 0)
            let bin = try swoffcpuBinary()
            let r = try ShellRun.run("""
                sh -c 'read x < "\(fifo)"; sleep 0.2 | cat > /dev/null; exit 4' & t=$!
                '\(bin)' -v --no-stacks -p $t -f --json '\(dir.path)/r.json' 2> '\(dir.path)/log' & s=$!
                \(TraceWindow.shellWait(log: dir.path + "/log"))
                echo go > '\(fifo)'; wait $s; echo "swoffcpu=$?"
                """)
            #expect(r.stdout.contains("swoffcpu=0"), "\(r.stdout) \(r.stderr)")
            let processes = try Self.processes(dir.path + "/r.json")
            Self.expectSound(processes)
            let target = try #require(processes.first { ($0["born_ns"] as? NSNumber) == nil })
            #expect(Self.int(try #require(target["exit"] as? Object), "code") == 4)
            for name in ["sleep", "cat"] {
                let p = try #require(processes.first { $0["comm"] as? String == name }, "\(name) followed")
                #expect(Self.int(p, "ppid") == Self.int(target, "pid"))
            }
        }

        /// Checks the sudo case with a real non-root user: with SUDO_UID/SUDO_GID set, the command
        /// runs as that user (uid, gid and supplementary groups), and every file swoffcpu writes
        /// (--output-dir: all formats, the directory too) belongs to the user.
        @Test func runsAsTheSudoUser() throws {
            let user = "swoffcpu-test"
            if getpwnam(user) == nil {
                _ = try ShellRun.run("groupadd -f swoffcpu-extra; useradd -M -N -g users -G swoffcpu-extra -s /bin/sh \(user)")
            }
            let pw = try #require(getpwnam(user), "useradd \(user)")
            let uid = pw.pointee.pw_uid, gid = pw.pointee.pw_gid
            let dir = try Scratch()
            chmod(dir.path, 0o777)
            let expectedGroups = try ShellRun.run("id -G \(user)").stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            let r = try ShellRun.run("""
                SUDO_UID=\(uid) SUDO_GID=\(gid) SUDO_USER=\(user) '\(try swoffcpuBinary())' --output-dir '\(dir.path)/out' \
                  -- sh -c 'id -u > "\(dir.path)/uid"; id -G > "\(dir.path)/groups"; touch "\(dir.path)/made"'
                """)
            #expect(r.code == 0, "stderr: \(r.stderr)")
            #expect(try String(contentsOfFile: dir.path + "/uid", encoding: .utf8) == "\(uid)\n")
            let groups = try String(contentsOfFile: dir.path + "/groups", encoding: .utf8)
                .split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            #expect(Set(groups) == Set(expectedGroups), "groups \(groups), user's \(expectedGroups)")
            func owner(_ path: String) -> (uid_t, gid_t)? {
                var st = stat()
                return stat(path, &st) == 0 ? (st.st_uid, st.st_gid) : nil
            }
            #expect(owner(dir.path + "/made").map { $0.0 } == uid, "the command's file")
            for name in ["", "report.txt", "report.json", "offcpu.folded", "offcpu.svg", "wakers.folded", "wakers.svg"] {
                let path = dir.path + "/out/" + name
                let o = owner(path)
                #expect(o != nil, "\(name) written")
                #expect(o.map { $0.0 == uid && $0.1 == gid } == true, "\(path) belongs to \(uid):\(gid), not \(String(describing: o))")
            }
        }
    }
}
