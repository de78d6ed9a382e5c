import Foundation
import Testing

extension IntegrationTests {
    /// pprof read by the real reader (`go tool pprof`, Debian's golang-go), on-CPU sampling
    /// beside the off-CPU stacks, and `swoffcpu diff` on two real runs.
    @Suite("Profiles", .enabled(if: geteuid() == 0, "loads BPF programs: run as root"))
    struct Profiles {
        /// Checks that `go tool pprof -top -sample_index=blocked` on a traced lock-bound
        /// program lists the waiting functions with a total equal to the table's blocked time
        /// (to the nanosecond), and that `-sample_index` of every state, `off_cpu` (the
        /// default) and `-tagfocus=state=blocked` total what the report says too.
        @Test func goToolPprofTotalsEqualTheTable() throws {
            let go = try #require(goBinary(), "go tool pprof is needed: apt-get install golang-go (scripts/install-deps.sh --test)")
            let w = try Workload("mutex")
            defer { w.stop() }
            let dir = try tempDir("pprof")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let code = try runQuiet(["-p", "\(w.pid)", "-d", "1.5", "--pprof", dir + "/p.pb.gz", "--json", dir + "/r.json"])
            #expect(code == 0)
            let totals = try stateTotals(json: dir + "/r.json")
            print("[pprof] table: \(totals)")
            #expect(totals["blocked", default: 0] > 0, "the mutex threads blocked")

            let top = try pprof(go, ["-top", "-unit=ns", "-sample_index=blocked"], dir + "/p.pb.gz")
            print("[pprof] " + top.split(separator: "\n").prefix(16).joined(separator: "\n[pprof] "))
            #expect(pprofTotal(top) == totals["blocked"], "go tool pprof's blocked total is the table's")
            for function in ["pthread_mutex_lock", "lock_inner", "lock_outer", "contend", "__schedule"] {
                #expect(top.contains(" \(function)\n"), "-top lists \(function)")
            }
            for (index, key) in [("runnable", "runnable"), ("sleep", "sleep"), ("off_cpu", "off_cpu")] {
                let out = try pprof(go, ["-top", "-unit=ns", "-sample_index=\(index)"], dir + "/p.pb.gz")
                #expect(pprofTotal(out) == totals[key], "-sample_index=\(index): \(String(describing: pprofTotal(out))) vs \(String(describing: totals[key]))")
            }
            // The default sample type is off_cpu; focusing on the state label leaves the blocked samples.
            let focused = try pprof(go, ["-top", "-unit=ns", "-tagfocus=state=blocked"], dir + "/p.pb.gz")
            #expect(focused.contains("Type: off_cpu"))
            #expect(pprofShown(focused) == totals["blocked"], "-tagfocus=state=blocked shows the blocked total")
            let tags = try pprof(go, ["-tags"], dir + "/p.pb.gz")
            for key in ["thread_id", "thread_name", "process_id", "state", "mtx0"] { #expect(tags.contains(key), "-tags has \(key)") }
            // Mappings with build-ids: the executable's, so that a server can symbolize again.
            let raw = try pprof(go, ["-raw"], dir + "/p.pb.gz")
            #expect(raw.contains("mutex") && raw.range(of: #"[0-9a-f]{40}"#, options: .regularExpression) != nil,
                    "-raw shows the workload's mapping with a build-id")
        }

        /// Checks that with --on-cpu one thread's folded stacks hold both where it ran (the lock
        /// holder's busy loop in lock_inner, under `on-cpu`) and where it waited (lock_inner →
        /// pthread_mutex_lock under `blocked`); that each thread's on-CPU stacks add up to its
        /// exact on-CPU time; and that the flamegraph draws both states, in their colours, and
        /// renders in headless Chromium with the search finding lock_inner.
        @Test func onCPUFlamegraphShowsRunningAndWaiting() throws {
            let w = try Workload("mutex")
            defer { w.stop() }
            let dir = try tempDir("oncpu")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let code = try runQuiet(["-p", "\(w.pid)", "-d", "2", "--on-cpu", "--folded-thread",
                                     "--folded", dir + "/f.folded", "--flamegraph", dir + "/f.svg", "--json", dir + "/r.json"])
            #expect(code == 0)
            let tid = try #require(w.tids["mtx0"])
            let lines = try String(contentsOfFile: dir + "/f.folded", encoding: .utf8).split(separator: "\n")
            let mine = lines.filter { $0.contains(";mtx0-\(tid);") }
            for l in mine { print("[oncpu] \(l.prefix(220))") }
            #expect(mine.contains { $0.hasPrefix("on-cpu;") && $0.contains(";lock_inner") && !$0.contains("pthread_mutex_lock;") },
                    "mtx0 ran in lock_inner (on-cpu)")
            #expect(mine.contains { $0.hasPrefix("blocked;") && $0.contains(";lock_inner;") && $0.contains("pthread_mutex_lock") },
                    "mtx0 waited in lock_inner → pthread_mutex_lock (blocked)")

            // Exact on-CPU totals: the JSON's on-cpu stack entries per thread sum to its on_cpu_ns.
            let report = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any])
            var sampled: [Int: UInt64] = [:]
            for e in report["stacks"] as? [[String: Any]] ?? [] where e["state"] as? String == "on-cpu" {
                sampled[(e["tid"] as? NSNumber)?.intValue ?? 0, default: 0] += (e["ns"] as? NSNumber)?.uint64Value ?? 0
            }
            for p in report["processes"] as? [[String: Any]] ?? [] {
                for t in p["threads"] as? [[String: Any]] ?? [] {
                    let tid = (t["tid"] as? NSNumber)?.intValue ?? 0, onCPU = (t["on_cpu_ns"] as? NSNumber)?.uint64Value ?? 0
                    #expect(sampled[tid, default: 0] == onCPU, "thread \(tid): on-cpu stacks \(sampled[tid, default: 0]) ns vs on-CPU \(onCPU) ns")
                }
            }

            // The flamegraph: on-cpu and blocked side by side, each in its state's colour family.
            let svg = try String(contentsOfFile: dir + "/f.svg", encoding: .utf8)
            #expect(svg.contains("<title>on-cpu\n") && svg.contains("<title>blocked\n"))
            #expect(svg.contains("data-state=\"on-cpu\"") && svg.contains("data-state=\"blocked\""), "the legend has both states")
            try checkInChromium(svg: dir + "/f.svg", search: "lock_inner", dir: dir, tag: "oncpu")
        }

        /// Checks that `swoffcpu diff` on a before/after pair of real runs of lock_hotcold — one
        /// hot thread before (its lock uncontended), four after (three queue on it: the lock is
        /// held asleep, so the change is a wait, not CPU time that a busy machine would blur) —
        /// puts the hot lock's waiting path at the top of its table, says the blocked state
        /// grew, and writes a differential flamegraph whose hot_worker frame under `blocked` is
        /// red (new), which renders in headless Chromium.
        @Test func diffShowsTheChangedPathFirst() throws {
            let dir = try tempDir("diff")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for (name, threads) in [("before", "1"), ("after", "4")] {
                let w = try Workload("lock_hotcold", ["-n", threads])
                defer { w.stop() }
                #expect(try runQuiet(["-p", "\(w.pid)", "-d", "1.5", "--folded", "\(dir)/\(name).folded"]) == 0)
            }
            let r = try ShellRun.run("'\(try swoffcpuBinary())' diff '\(dir)/before.folded' '\(dir)/after.folded'"
                                     + " --flamegraph '\(dir)/diff.svg' --top 3")
            print("[diff] " + r.stdout.split(separator: "\n").joined(separator: "\n[diff] "))
            #expect(r.code == 0, "exit \(r.code): \(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            let first = try #require(lines.firstIndex { $0.hasPrefix("  #1 ") })
            #expect(lines[first].contains("+") && lines[first].contains("(new)"), "the top stack is new: \(lines[first])")
            #expect(lines[first + 1].hasPrefix("      blocked;") && lines[first + 1].contains(";hot_worker;pthread_mutex_lock"),
                    "the top stack is the lock's waiting path: \(lines[first + 1])")
            let blockedRow = try #require(lines.first { $0.hasPrefix("  blocked ") })
            #expect(blockedRow.contains("+"), "blocked grew: \(blockedRow)")

            let svg = try String(contentsOfFile: dir + "/diff.svg", encoding: .utf8)
            let worker = svg.components(separatedBy: "<g data-x").first { $0.contains("<title>hot_worker\n") && $0.contains("(new)") }
            let fill = worker.flatMap { $0.range(of: #"fill="rgb\(255,[0-9]+,[0-9]+\)""#, options: .regularExpression) }
            #expect(fill != nil, "hot_worker under blocked is drawn red (new): \(worker?.prefix(300) ?? "no frame")")
            try checkInChromium(svg: dir + "/diff.svg", search: "hot_worker", dir: dir, tag: "diff")
        }
    }
}

/// `go` where Debian's golang-go puts it, or on PATH.
private func goBinary() -> String? {
    for path in ["/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"] where access(path, X_OK) == 0 { return path }
    return nil
}

private func tempDir(_ tag: String) throws -> String {
    let dir = NSTemporaryDirectory() + "/swoffcpu-\(tag)-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func runQuiet(_ args: [String]) throws -> Int32 {
    let out = open("/dev/null", O_WRONLY | O_CLOEXEC)
    defer { close(out) }
    return try waitChild(try Spawn.spawn(try swoffcpuBinary(), args, stdout: out))
}

/// `go tool pprof ARGS FILE`'s output (a HOME of its own: go wants one for its caches).
private func pprof(_ go: String, _ args: [String], _ file: String) throws -> String {
    let home = NSTemporaryDirectory() + "/swoffcpu-gohome-\(getpid())"
    let quoted = args.map { "'\($0)'" }.joined(separator: " ")
    let r = try ShellRun.run("mkdir -p '\(home)' && HOME='\(home)' GOTOOLCHAIN=local '\(go)' tool pprof \(quoted) '\(file)'")
    #expect(r.code == 0, "go tool pprof \(args): \(r.stderr)")
    return r.stdout
}

/// The `Total samples = Nns` of a -top -unit=ns header.
private func pprofTotal(_ text: String) -> UInt64? {
    number(after: "Total samples = ", in: text)
}

/// The `Showing nodes accounting for Nns` of a -top -unit=ns header: what the filters kept.
private func pprofShown(_ text: String) -> UInt64? {
    number(after: "Showing nodes accounting for ", in: text)
}

private func number(after marker: String, in text: String) -> UInt64? {
    guard let r = text.range(of: marker) else { return nil }
    return UInt64(text[r.upperBound...].prefix { $0.isNumber })
}

/// The table's totals over every thread, ns: per state (`sleep` with D), and `off_cpu`.
private func stateTotals(json path: String) throws -> [String: UInt64] {
    let report = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    var totals: [String: UInt64] = [:]
    for p in report["processes"] as? [[String: Any]] ?? [] {
        for t in p["threads"] as? [[String: Any]] ?? [] {
            func ns(_ key: String) -> UInt64 { (t[key] as? NSNumber)?.uint64Value ?? 0 }
            totals["on_cpu", default: 0] += ns("on_cpu_ns")
            totals["runnable", default: 0] += ns("runnable_ns")
            totals["sleep", default: 0] += ns("sleep_ns")
            totals["blocked", default: 0] += ns("blocked_ns")
            totals["off_cpu", default: 0] += ns("runnable_ns") + ns("sleep_ns") + ns("blocked_ns")
        }
    }
    return totals
}

/// scripts/check-flamegraph.sh in headless Chromium: no console message, the search matches.
/// Chromium is installed by scripts/install-deps.sh --test; where it is not, this says so.
private func checkInChromium(svg: String, search: String, dir: String, tag: String) throws {
    let browsers = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
    guard let chromium = browsers.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        print("[\(tag)] chromium not installed: the browser check did not run")
        return
    }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/check-flamegraph.sh").standardized.path
    let log = "\(dir)/\(tag)-check.log"
    let command = "CHROMIUM='\(chromium)' bash '\(script)' --search '\(search)' -o '\(dir)/\(tag).png' '\(svg)' > '\(log)' 2>&1"
    let status = try waitChild(try Spawn.spawn("/bin/sh", ["-c", command]))
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    print("[\(tag)] check-flamegraph: \(text.split(separator: "\n").suffix(3).joined(separator: " | "))")
    #expect(status == 0, "check-flamegraph.sh failed: \(text)")
    #expect(text.contains("search '\(search)': Matched"), "search found \(search)")
}
