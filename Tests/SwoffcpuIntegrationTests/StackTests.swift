import Foundation
import FoundationXML
import Testing

extension IntegrationTests {
    @Suite("Stacks", .enabled(if: geteuid() == 0, "loads BPF programs: run as root"))
    struct Stacks {
        /// Checks that, on a mutex-contention program built with frame pointers, the folded
        /// stacks show the waiting functions by name, in order, under the `blocked` root
        /// (contend → lock_outer → lock_inner → pthread_mutex_lock → the glibc wait → the
        /// kernel's futex wait), that the flamegraph is well-formed XML whose total is the
        /// folded total, and — where Chromium is installed, as scripts/test.sh does — that it
        /// renders with no console error and its search finds lock_inner.
        @Test func mutexWaitersByNameInOrder() throws {
            let w = try Workload("mutex")
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-stacks-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded", svg = dir + "/out.svg"
            let code = try runSwoffcpu(["-p", "\(w.pid)", "-d", "1.5", "--folded", folded, "--flamegraph", svg])
            #expect(code == 0)

            let lines = try String(contentsOfFile: folded, encoding: .utf8).split(separator: "\n")
            let blocked = lines.filter { $0.hasPrefix("blocked;") }
            let path = blocked.first { line in
                let frames = line.split(separator: " ").first.map { $0.split(separator: ";").map(String.init) } ?? []
                guard let worker = frames.firstIndex(of: "contend"),
                      let outer = frames.firstIndex(of: "lock_outer"), let inner = frames.firstIndex(of: "lock_inner"),
                      let lock = frames.firstIndex(where: { $0.hasSuffix("pthread_mutex_lock") }),
                      let futex = frames.firstIndex(where: { $0.hasPrefix("futex_wait") && $0.hasSuffix("_[k]") })
                else { return false }
                return worker < outer && outer < inner && inner < lock && lock < futex
            }
            print("[stacks] blocked stack: \(path.map(String.init) ?? "none of \(blocked.count) lines")")
            #expect(path != nil, "no blocked stack with contend;lock_outer;lock_inner;…pthread_mutex_lock;…futex_wait…_[k]")
            // The waiting path carries most of the blocked time.
            func value(_ line: Substring) -> UInt64 { line.split(separator: " ").last.flatMap { UInt64($0) } ?? 0 }
            let blockedTotal = blocked.reduce(0) { $0 + value($1) }
            let onPath = blocked.filter { $0.contains(";lock_outer;lock_inner;") }.reduce(0) { $0 + value($1) }
            print("[stacks] blocked \(blockedTotal) µs, through lock_outer;lock_inner \(onPath) µs")
            #expect(onPath * 10 >= blockedTotal * 9, "the waiting path holds ≥ 90 % of the blocked time")

            // The flamegraph: XML, and its total is the folded file's.
            let foldedTotal = lines.reduce(0) { $0 + value($1) }
            let parser = XMLParser(contentsOf: URL(fileURLWithPath: svg))
            let totals = TotalCollector()
            parser?.delegate = totals
            #expect(parser?.parse() == true, "the SVG is well-formed XML")
            #expect(totals.total == foldedTotal, "SVG data-total \(String(describing: totals.total)) vs folded \(foldedTotal)")

            // Headless Chromium: no console error, search works (scripts/check-flamegraph.sh).
            let browsers: [String] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            if let chromium = browsers.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
                let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("../../scripts/check-flamegraph.sh").standardized.path
                let command = "CHROMIUM='\(chromium)' bash '\(script)' --search lock_inner -o '\(dir)/out.png' '\(svg)'"
                    + " > '\(dir)/check.log' 2>&1"
                let status = try waitChild(try Spawn.spawn("/bin/sh", ["-c", command]))
                let log = (try? String(contentsOfFile: dir + "/check.log", encoding: .utf8)) ?? ""
                print("[stacks] check-flamegraph: \(log.split(separator: "\n").suffix(3).joined(separator: " | "))")
                #expect(status == 0, "check-flamegraph.sh failed: \(log)")
                #expect(log.contains("search 'lock_inner': Matched"), "search found lock_inner")
            } else {
                print("[stacks] chromium not installed: the browser check did not run")
            }
        }
    }

        /// Checks that threads off-CPU since before the trace (a pipe read, a condition
        /// variable, pause()) get their user stacks — read from their memory by the sleepable
        /// seed iterator — not a placeholder, and that the condvar wait is under `blocked`.
        @Test func waitersSinceBeforeTheTraceHaveUserStacks() throws {
            let w = try Workload("parked")
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-parked-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded"
            #expect(try runSwoffcpu(["-p", "\(w.pid)", "-d", "1", "--folded", folded]) == 0)
            let lines = try String(contentsOfFile: folded, encoding: .utf8).split(separator: "\n")
            for line in lines { print("[parked] \(line.prefix(200))") }
            #expect(lines.contains { $0.hasPrefix("sleep;") && $0.contains(";piperead;") && $0.contains(";read") })
            #expect(lines.contains { $0.hasPrefix("sleep;") && $0.contains(";pauser;") && $0.contains(";pause") })
            #expect(lines.contains { $0.hasPrefix("blocked;") && $0.contains(";condwait;") && $0.contains("pthread_cond_wait") })
            #expect(!lines.contains { $0.contains("waiting since before the trace") })
        }
}

/// Reads the `data-total` attribute of the flamegraph's root <svg> element.
private final class TotalCollector: NSObject, XMLParserDelegate {
    var total: UInt64?
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        if name == "svg", total == nil, let t = attributes["data-total"] { total = UInt64(t) }
    }
}

/// Runs the swoffcpu built with the tests, its output discarded; returns the exit code.
private func runSwoffcpu(_ args: [String]) throws -> Int32 {
    let out = open("/dev/null", O_WRONLY | O_CLOEXEC)
    defer { close(out) }
    return try waitChild(try Spawn.spawn(try swoffcpuBinary(), args, stdout: out))
}
