import Foundation
import SwoffcpuBPF
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Bad input and lifecycle through the built binary (docs/reliability.md): each bad input one
// line and a non-zero exit, before any tracing; targets that exit, PIDs reused, other PID
// namespaces, a SIGKILL'ed tracer leaving nothing loaded.
extension IntegrationTests {
    @Suite("Lifecycle", .enabled(if: geteuid() == 0, "runs swoffcpu, which loads BPF programs: run as root"))
    struct Lifecycle {
        /// A scratch directory for a test's outputs.
        static func scratch(_ name: String) throws -> String {
            let dir = NSTemporaryDirectory() + "/swoffcpu-life-\(getpid())-\(name)"
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return dir
        }

        /// Checks every bad value we know of: usage errors exit 64, runtime errors exit 1; the
        /// message is one line naming what is wrong, nothing on stdout, no file left behind, no
        /// crash (no "Fatal error", no stack trace).
        @Test func badInputOneLineEach() throws {
            let bin = try swoffcpuBinary()
            let w = try Workload("parked")
            defer { w.stop() }
            let dir = try Self.scratch("bad")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let p = w.pid
            let cases: [(args: String, code: Int32, message: String)] = [
                ("-p \(p) -d 0", 64, "--duration must be a positive number"),
                ("-p \(p) --duration=-1", 64, "--duration must be a positive number"),
                ("-p \(p) -d nan", 64, "--duration must be a positive number"),
                ("-p \(p) -d inf", 64, "--duration must be a positive number"),
                ("-p \(p) -d 1e300", 64, "more than 10^8"),
                ("-p \(p) -d soon", 64, "'soon' is invalid for '-d <SECONDS>'"),
                ("-p 0", 64, "'0' is not a process or thread id"),
                ("--pid=-5", 64, "'-5' is not a process or thread id"),
                ("-p 99999999999", 64, "'99999999999' is not a process or thread id"),
                ("-p \(p),", 64, "an empty process or thread id"),
                ("-p ''", 64, "an empty process or thread id"),
                ("-p \(p),\(p)", 64, "\(p) is given twice"),
                ("-p \(p) -p \(p)", 64, "\(p) is given twice"),
                ("-p 2147483647 -d 1", 1, "no process with PID 2147483647"),
                ("-p \(p) --threads 0", 64, "--threads must be at least 1"),
                ("-p \(p) --top=-1", 64, "--top must be 0 or more"),
                ("-p \(p) --stack-sampling 0", 64, "--stack-sampling must be at least 1"),
                ("-p \(p) --max-stacks 0", 64, "--max-stacks must be at least 1"),
                ("-p \(p) --no-stacks --folded \(dir)/f", 64, "need stacks"),
                ("-p \(p) -d 1 --json \(dir)/no/such/dir/r.json", 1, "cannot create a temporary file"),
                ("-p \(p) -d 1 --json /dev/null", 1, "not a regular file"),
                ("-p \(p) -d 1 --folded \(dir)", 1, "not a regular file"),
                ("-p \(p) -d 1 --json \(dir)/a --folded \(dir)/./a", 64, "name the same file"),
                ("-p \(p) -d 1 --json - --folded -", 64, "only one output can go to stdout"),
            ]
            for c in cases {
                let r = try ShellRun.run("'\(bin)' \(c.args)")
                #expect(r.code == c.code, "\(c.args): exit \(r.code), \(r.stderr)")
                let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
                #expect(first.contains(c.message), "\(c.args): \(r.stderr)")
                #expect(first.hasPrefix("Error: ") || first.hasPrefix("swoffcpu: error: "), "\(c.args): \(r.stderr)")
                if c.code == 1 { #expect(r.stderr.split(separator: "\n").count == 1, "\(c.args): one line") }
                #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), "\(c.args): \(r.stderr)")
                #expect(r.stdout.isEmpty, "\(c.args): stdout \(r.stdout)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no file written, no temporary left")
        }

        /// Checks that a user without privileges (setpriv: uid nobody, no capabilities) is told
        /// which capabilities are missing, in one line.
        @Test func notPermitted() throws {
            let w = try Workload("parked")
            defer { w.stop() }
            let r = try ShellRun.run("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
                                     + " '\(try swoffcpuBinary())' -p \(w.pid) -d 1")
            #expect(r.code == 1, "\(r.stderr)")
            #expect(r.stderr.hasPrefix("swoffcpu: error: missing CAP_BPF and CAP_PERFMON"), "\(r.stderr)")
            // The full set, with what each is for.
            #expect(r.stderr.contains("cap_bpf,cap_perfmon,cap_syslog,cap_sys_ptrace") && r.stderr.contains("CAP_SYSLOG for kernel symbols")
                    && r.stderr.contains("CAP_SYS_PTRACE for other users' processes"), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }

        /// Checks that swoffcpu refuses to run inside a PID namespace of its own (its task
        /// iterators would see none of the host's tasks), and that a target inside another PID
        /// namespace is traced by its host PID.
        @Test func pidNamespaces() throws {
            let bin = try swoffcpuBinary()
            let inside = try ShellRun.run("unshare --pid --fork '\(bin)' -p 1 -d 1")
            #expect(inside.code == 1)
            #expect(inside.stderr.hasPrefix("swoffcpu: error: swoffcpu runs in a PID namespace of its own"), "\(inside.stderr)")
            // A `sleep` in a new PID namespace (pid 1 there): traced by its host PID, all asleep.
            // (unshare's child, from /proc/PID/task/PID/children: no procps needed.)
            let r = try ShellRun.run("unshare --pid --fork sleep 30 & u=$!; i=0; s=;"
                                     + " while [ -z \"$s\" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1));"
                                     + " s=$(cat /proc/$u/task/$u/children 2>/dev/null | tr -d ' '); done; echo \"host pid $s\";"
                                     + " '\(bin)' -p $s -d 1 --no-stacks; c=$?; kill $u $s; exit $c")
            #expect(r.code == 0, "\(r.stderr)")
            let pid = r.stdout.split(separator: "\n").first?.split(separator: " ").last.map(String.init) ?? "?"
            #expect(r.stdout.contains("pid \(pid) sleep, 1 thread"), "\(r.stdout)")
            #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("sleep") && $0.contains("100.0%") }, "\(r.stdout)")
        }

        /// Checks that when every target exits the trace ends then, not at -d, says when each
        /// exited, and still writes its report.
        @Test func targetExitsEndsTheTrace() throws {
            let w = try Workload("mutex")
            defer { w.stop() }
            let dir = try Self.scratch("exit")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let start = Procfs.monotonicNs()
            let r = try ShellRun.run("'\(try swoffcpuBinary())' -v -p \(w.pid) -d 60 --json '\(dir)/r.json' 2> '\(dir)/log' & p=$!;"
                                     + " \(TraceWindow.shellWait(log: dir + "/log"))"
                                     + " sleep 1; kill -TERM \(w.pid); wait $p; c=$?; grep -v '^libbpf' '\(dir)/log' >&2; exit $c")
            let seconds = Double(Procfs.monotonicNs() - start) / 1e9
            #expect(r.code == 0, "\(r.stderr)")
            #expect(seconds < 30, "the trace ended when its target did, not at -d 60 (\(seconds) s)")
            #expect(r.stderr.contains("swoffcpu: pid \(w.pid) (wl-main) exited "), "\(r.stderr)")
            #expect(r.stderr.contains("every traced process exited: the trace ends"))
            #expect(r.stdout.contains("pid \(w.pid) wl-main (exited "), "\(r.stdout)")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any]
            let process = (json?["processes"] as? [[String: Any]])?.first
            #expect(process?["exited"] as? Bool == true)
        }

        /// Checks that a PID reused during the trace by a new process is not taken for the
        /// target: the report keeps the exited target's threads and name, nothing of the new
        /// process, and the trace goes on for the other target until -d.
        @Test func pidReusedDuringTheTrace() throws {
            let keeper = try Workload("parked")
            defer { keeper.stop() }
            let victim = try Workload("sleeper")
            defer { victim.stop() }
            let dir = try Self.scratch("reuse")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let victimTids = Set(victim.tids.values).union([victim.pid])
            // The tracer runs in the background; once its window started, the victim is killed
            // and its PID given to a new `sleep` (ns_last_pid: the next PID the kernel hands out).
            let log = dir + "/log"
            let tracer = try Spawn.spawn("/bin/sh", ["-c", "exec '\(try swoffcpuBinary())' -v -p \(keeper.pid),\(victim.pid) -d 4"
                                                     + " --no-stacks --json '\(dir)/r.json' > '\(dir)/out' 2> '\(log)'"])
            #expect(TraceWindow.wait(log: log))
            usleep(500_000)
            victim.stop()
            var reuser: pid_t = 0
            for _ in 0..<50 {
                try? "\(victim.pid - 1)".write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8)
                let p = try Spawn.spawn("/bin/sleep", ["30"])
                if p == victim.pid { reuser = p; break }
                kill(p, SIGKILL)
                _ = try waitChild(p)
            }
            defer { if reuser > 0 { kill(reuser, SIGKILL); _ = try? waitChild(reuser) } }
            #expect(reuser == victim.pid, "could not get the PID reused")
            let code = try waitChild(tracer)
            let err = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(code == 0, "\(err)")
            #expect(err.contains("swoffcpu: pid \(victim.pid) (wl-main) exited "), "\(err)")
            #expect(!err.contains("every traced process exited"), "the keeper was still traced")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any])
            let processes = try #require(json["processes"] as? [[String: Any]])
            let v = try #require(processes.first { ($0["pid"] as? NSNumber)?.int32Value == victim.pid })
            #expect(v["comm"] as? String == "wl-main")
            #expect(v["exited"] as? Bool == true)
            let threads = try #require(v["threads"] as? [[String: Any]])
            let tids = Set(threads.compactMap { ($0["tid"] as? NSNumber)?.int32Value })
            #expect(tids.isSubset(of: victimTids), "only the victim's threads: \(tids) vs \(victimTids)")
            #expect(!threads.contains { $0["comm"] as? String == "sleep" }, "nothing of the new process")
            #expect((json["window_ns"] as? NSNumber).map { $0.uint64Value >= 3_900_000_000 } == true, "traced until -d for the keeper")
        }

        /// Checks that a SIGKILL'ed swoffcpu leaves no BPF program, map or link loaded: the ones
        /// bpftool showed as its own during the trace are gone after.
        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/bpftool"), "needs bpftool"))
        func sigkillLeavesNothingLoaded() throws {
            let w = try Workload("mutex")
            defer { w.stop() }
            let dir = try Self.scratch("kill")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let log = dir + "/log"
            let tracer = try Spawn.spawn("/bin/sh", ["-c", "exec '\(try swoffcpuBinary())' -v -p \(w.pid) > /dev/null 2> '\(log)'"])
            #expect(TraceWindow.wait(log: log))
            // The tracer's programs, maps and links, from its file descriptors (bpftool's
            // `pids` column needs a bpftool built with it; fdinfo is always there).
            func owned(_ kind: String) -> Set<Int> {
                let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(tracer)/fd")) ?? []
                var ids = Set<Int>()
                for fd in fds {
                    guard let info = try? Procfs.readString("/proc/\(tracer)/fdinfo/\(fd)") else { continue }
                    for line in info.split(separator: "\n") where line.hasPrefix("\(kind)_id:") {
                        if let id = Int(line.dropFirst(kind.count + 4).trimmingCharacters(in: .whitespaces)) { ids.insert(id) }
                    }
                }
                return ids
            }
            let progs = owned("prog"), maps = owned("map"), links = owned("link")
            #expect(!progs.isEmpty && !maps.isEmpty && !links.isEmpty, "bpftool shows the tracer's objects")
            kill(tracer, SIGKILL)
            #expect(try waitChild(tracer) == 128 + SIGKILL)
            // The kernel frees them once the last reference (the process's fds) is gone; a
            // moment for the deferred frees.
            var left: [String] = []
            for _ in 0..<50 {
                left = []
                let ids = try ShellRun.run("bpftool -j prog show; echo; bpftool -j map show; echo; bpftool -j link show").stdout
                let lists = ids.split(separator: "\n").compactMap {
                    (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [[String: Any]]
                }
                let present = lists.map { Set($0.compactMap { ($0["id"] as? NSNumber)?.intValue }) }
                if present.count == 3 {
                    if !progs.isDisjoint(with: present[0]) { left.append("programs \(progs.intersection(present[0]))") }
                    if !maps.isDisjoint(with: present[1]) { left.append("maps \(maps.intersection(present[1]))") }
                    if !links.isDisjoint(with: present[2]) { left.append("links \(links.intersection(present[2]))") }
                }
                if left.isEmpty && present.count == 3 { break }
                usleep(100_000)
            }
            #expect(left.isEmpty, "still loaded after SIGKILL: \(left)")
        }
    }
}

extension IntegrationTests.Lifecycle {
    /// Checks that hidden kernel symbols are said at the start, on stderr and in the JSON, and
    /// that the trace still runs.
    @Test func hiddenKernelSymbolsSaid() throws {
        let w = try Workload("parked")
        defer { w.stop() }
        let dir = try Self.scratch("kptr")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let saved = try Procfs.readString("/proc/sys/kernel/kptr_restrict").trimmingSuffix("\n")
        try "2".write(toFile: "/proc/sys/kernel/kptr_restrict", atomically: false, encoding: .utf8)
        defer { try? saved.write(toFile: "/proc/sys/kernel/kptr_restrict", atomically: false, encoding: .utf8) }
        let r = try ShellRun.run("'\(try swoffcpuBinary())' -p \(w.pid) -d 0.5 --json '\(dir)/r.json'")
        #expect(r.code == 0, "\(r.stderr)")
        let said = "swoffcpu: warning: kernel frames unnamed: /proc/kallsyms hides its addresses (kernel.kptr_restrict=2)"
        #expect(r.stderr.contains(said + "\n"), "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any]
        #expect((json?["degraded"] as? [String])?.first?.hasPrefix("kernel frames unnamed") == true)
    }

    /// Checks that a user with CAP_BPF and CAP_PERFMON but not root is told, at the start, that
    /// a root-owned target's user frames will be unnamed, and the trace still runs.
    @Test func anotherUsersProcessSaid() throws {
        let w = try Workload("parked")
        defer { w.stop() }
        let r = try ShellRun.run("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+bpf,+perfmon"
                                 + " --ambient-caps=+bpf,+perfmon '\(try swoffcpuBinary())' -p \(w.pid) -d 0.5")
        #expect(r.stderr.contains("swoffcpu: warning: user frames of pid \(w.pid) cut short and unnamed: its files (/proc/\(w.pid)/root) are not readable"),
                "\(r.stderr)")
        #expect(r.stderr.contains("and no CAP_SYSLOG)") || !r.stderr.contains("kernel frames unnamed"))
        #expect(r.code == 0 || r.stderr.contains("swoffcpu: error:"), "\(r.stderr)")
    }
}

extension IntegrationTests.Lifecycle {
    /// Checks that a target that execs during the trace has its stacks from before the exec
    /// named from its image then, and those after from the new one.
    @Test func targetExecs() throws {
        let execer = try WorkloadBuilder.shared.binary("execer")
        let dir = try Self.scratch("exec")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try ShellRun.run("'\(execer)' & w=$!; '\(try swoffcpuBinary())' -v -p $w -d 3 --all-stacks --folded '\(dir)/f'"
                                 + " 2> '\(dir)/log' & p=$!; \(TraceWindow.shellWait(log: dir + "/log"))"
                                 + " sleep 1; kill -USR1 $w; wait $p; c=$?; kill $w;"
                                 + " grep -v '^libbpf' '\(dir)/log' >&2; exit $c")
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stderr.contains("exec'ed: its new image's symbols taken"), "\(r.stderr)")
        let folded = try String(contentsOfFile: dir + "/f", encoding: .utf8)
        let lines = folded.split(separator: "\n")
        let before = lines.filter { $0.contains(";main;sleep_before_exec;") }
        let after = lines.filter { $0.contains(";main;sleep_after_exec;") }
        #expect(!before.isEmpty && !after.isEmpty, "\(folded)")
        // Every walked sleep of the process is in one of the two functions: none named from the
        // wrong image (which would be [unknown] or another function). The wait in progress at
        // the start may have no user stack (`[user stack: waiting since before the trace]`), and
        // a sleep walked in the new image before its unwind tables were installed (up to the
        // loop's 100 ms after the exec) ends honestly in `[truncated: no mapping]`.
        let sleeps = lines.filter {
            $0.hasPrefix("sleep;") && $0.contains("nanosleep") && !$0.contains(";[user stack:") && !$0.contains("[truncated: no mapping]")
        }
        #expect(sleeps.allSatisfy { $0.contains("sleep_before_exec") || $0.contains("sleep_after_exec") }, "\(sleeps)")
    }
}
