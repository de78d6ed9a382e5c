import Foundation
import SwoffcpuBPF
import Testing

extension IntegrationTests {
    /// The command as a user meets it: help, errors (one line, non-zero exit, no stack
    /// trace), and Ctrl-C / SIGTERM still writing the report and its files.
    @Suite("CLI", .enabled(if: geteuid() == 0, "runs swoffcpu, which loads BPF programs: run as root"))
    struct CLI {
        /// Checks that --help explains the four states and names every option group.
        @Test func helpExplainsTheStates() throws {
            let r = try ShellRun.run("'\(try swoffcpuBinary())' --help")
            #expect(r.code == 0)
            for word in ["on-CPU", "runnable", "sleep", "blocked", "-p, --pid", "--duration", "--json",
                         "--folded", "--flamegraph", "--locks", "--no-stacks", "--all-stacks"] {
                #expect(r.stdout.contains(word), "help mentions \(word)")
            }
        }

        /// Checks that a PID that does not exist gives one line on stderr and exit 1.
        @Test func missingPID() throws {
            let r = try ShellRun.run("'\(try swoffcpuBinary())' -p 4194303 -d 1")
            #expect(r.code == 1)
            #expect(r.stderr == "swoffcpu: error: no process with PID 4194303\n")
            #expect(r.stdout.isEmpty)
        }

        /// Checks that a thread's id given as a process says which process it belongs to.
        @Test func threadGivenAsProcess() throws {
            let w = try Workload("parked")
            defer { w.stop() }
            let tid = try #require(w.tids["piperead"])
            let r = try ShellRun.run("'\(try swoffcpuBinary())' -p \(tid) -d 1")
            #expect(r.code == 1)
            #expect(r.stderr == "swoffcpu: error: \(tid) is a thread of process \(w.pid), not a process: use -p \(w.pid) -t \(tid)\n")
        }

        /// Checks that bad arguments are a usage error (exit 64) that says what is wrong.
        @Test func badArguments() throws {
            let bin = try swoffcpuBinary()
            let noTarget = try ShellRun.run("'\(bin)'")
            #expect(noTarget.code == 64)
            #expect(noTarget.stderr.contains("give the processes to trace with -p PID"))
            let notANumber = try ShellRun.run("'\(bin)' -p 12x")
            #expect(notANumber.code == 64)
            #expect(notANumber.stderr.contains("'12x' is not a process or thread id"))
            let badDuration = try ShellRun.run("'\(bin)' -p 1 -d -3")
            #expect(badDuration.code == 64)
            // Two outputs on stdout, or two outputs in one file: refused before tracing, one line.
            for (args, message) in [("--json - --folded -", "only one output can go to stdout ('-'): --json and --folded"),
                                     ("--folded - --folded-wakers -", "--folded and --folded-wakers both ask for it"),
                                     ("--json /tmp/x.out --flamegraph /tmp/../tmp/./x.out", "--json and --flamegraph name the same file")] {
                let r = try ShellRun.run("'\(bin)' -p 1 -d 1 \(args)")
                #expect(r.code == 64, "\(args): exit \(r.code)")
                #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
                #expect(r.stdout.isEmpty)
            }
        }

        /// Checks that without CAP_BPF and CAP_PERFMON (and CAP_SYS_ADMIN) the error names
        /// the missing capabilities.
        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/capsh")
                        || FileManager.default.isExecutableFile(atPath: "/sbin/capsh"), "needs capsh (libcap2-bin)"))
        func missingCapabilities() throws {
            let r = try ShellRun.run("capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c \"'\(try swoffcpuBinary())' -p 1 -d 1\"")
            #expect(r.code == 1)
            #expect(r.stderr.hasPrefix("swoffcpu: error: missing CAP_BPF and CAP_PERFMON"))
            #expect(r.stderr.split(separator: "\n").count == 1)
        }

        /// Checks that the BTF check fails with a message saying what the kernel lacks.
        @Test func noBTF() {
            #expect(throws: Preflight.Failure.noBTF) { try Preflight.checkBTF(path: "/nonexistent/vmlinux") }
            #expect("\(Preflight.Failure.noBTF)".contains("CONFIG_DEBUG_INFO_BTF"))
        }

        /// Checks that SIGINT, SIGTERM and SIGHUP end the trace and still print the report and
        /// write the JSON and folded files (atomically: complete files, no temporary left behind).
        @Test(arguments: ["INT", "TERM", "HUP"])
        func signalStillReports(signal: String) throws {
            let w = try Workload("mutex")
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-sig-\(getpid())-\(signal)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // The signal comes 1 s after the window started (-v logs "tracing pids" then), not
            // after a fixed delay from the launch: on a loaded machine loading the programs alone
            // can take a second, and a window of a few ms holds no blocked stack.
            let r = try ShellRun.run("'\(try swoffcpuBinary())' -v -p \(w.pid) --json '\(dir)/r.json' --folded '\(dir)/r.folded'"
                                     + " 2> '\(dir)/log' & p=$!; \(TraceWindow.shellWait(log: dir + "/log"))"
                                     + " sleep 1; kill -\(signal) $p; wait $p; c=$?;"
                                     + " grep -v '^libbpf' '\(dir)/log' >&2; exit $c")
            #expect(r.code == 0, "exit \(r.code): \(r.stderr)")
            #expect(r.stdout.contains("pid \(w.pid)") && r.stdout.contains("mtx0"), "the table was printed")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json")))
            #expect((json as? [String: Any])?["window_ns"] != nil)
            let folded = try String(contentsOfFile: dir + "/r.folded", encoding: .utf8)
            #expect(folded.contains("blocked;"))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix("r.") && $0 != "log" }
            #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
        }
    }
}
