import Foundation
import Testing
import SwoffcpuTestSupport

extension IntegrationTests {
    /// Where names come from, through the binary: a debuginfod server, and what the report says
    /// when they stay missing (issue 15).
    @Suite("Symbol sources", .enabled(if: geteuid() == 0, "loads BPF programs: run as root"))
    struct SymbolSources {
        /// The done criterion through the binary: a stripped program (the mutex workload, built
        /// with -g, its debug part split off with objcopy --only-keep-debug, then stripped) whose
        /// debug file only a local debuginfod server has: with DEBUGINFOD_URLS its stacks are
        /// named (contend ← lock_outer ← lock_inner); without it they are `mutex-stripped+0x…`,
        /// and stderr and the JSON's `degraded` say which module and how to name it. A perf map
        /// the target's user does not own is refused, and that is said too (ProcessSymbols.problems).
        @Test func strippedProgramNamedByDebuginfod() throws {
            let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("swoffcpu-dbgd-\(getpid())")
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir + "/srv", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let built = try WorkloadBuilder.shared.binary("mutex")
            let stripped = dir + "/mutex-stripped"
            #expect(try Spawn.run("/usr/bin/strip", ["--strip-all", built, "-o", stripped]) == 0)
            let notes = try ShellRun.run("readelf -n '\(stripped)'").stdout
            let id = try #require(notes.split(separator: "\n").first { $0.contains("Build ID:") }?.split(separator: " ").last)
            try FileManager.default.createDirectory(atPath: "\(dir)/srv/buildid/\(id)", withIntermediateDirectories: true)
            #expect(try Spawn.run("/usr/bin/objcopy", ["--only-keep-debug", built, "\(dir)/srv/buildid/\(id)/debuginfo"]) == 0)
            let server = try LocalHTTPServer(root: dir + "/srv")
            defer { server.stop() }

            let w = try Workload("mutex", ["-n", "2"], binary: stripped)
            defer { w.stop() }
            let perfMap = "/tmp/perf-\(w.pid).map"
            try "1000 10 jitted\n".write(toFile: perfMap, atomically: false, encoding: .utf8)
            defer { unlink(perfMap) }
            #expect(chown(perfMap, 65534, 65534) == 0)
            let bin = try swoffcpuBinary()

            // Without a server: unnamed, and said.
            let plain = try ShellRun.run("env -u DEBUGINFOD_URLS '\(bin)' -p \(w.pid) -d 1 --folded '\(dir)/plain.folded' --json '\(dir)/plain.json'")
            #expect(plain.code == 0, "\(plain.stderr)")
            let plainFolded = try Procfs.readString(dir + "/plain.folded")
            #expect(plainFolded.contains("mutex-stripped+0x") && !plainFolded.contains("lock_inner"))
            let said = plain.stderr.split(separator: "\n").filter { $0.contains("of mutex-stripped unnamed: \(stripped) is stripped") }
            #expect(said.count == 1, "\(plain.stderr)")
            #expect(said.first?.contains("build-id \(id)") == true && said.first?.contains("DEBUGINFOD_URLS") == true)
            let refused = plain.stderr.split(separator: "\n").filter { $0.contains("\(perfMap): not used: owned by uid 65534") }
            #expect(refused.count == 1 && refused.first?.hasPrefix("swoffcpu: warning: symbols of pid \(w.pid): ") == true,
                    "\(plain.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/plain.json"))) as? [String: Any]
            let degraded = json?["degraded"] as? [String] ?? []
            #expect(degraded.contains { $0.contains("of mutex-stripped unnamed") }, "\(degraded)")
            #expect(degraded.contains { $0.contains("\(perfMap): not used") }, "\(degraded)")

            // With the server: named, from the cache it filled (elfutils' layout).
            let cache = dir + "/cache"
            let named = try ShellRun.run("DEBUGINFOD_URLS='http://127.0.0.1:\(server.port)' DEBUGINFOD_CACHE_PATH='\(cache)' "
                                         + "'\(bin)' -p \(w.pid) -d 1 --folded '\(dir)/named.folded'")
            #expect(named.code == 0, "\(named.stderr)")
            let namedFolded = try Procfs.readString(dir + "/named.folded")
            #expect(namedFolded.contains(";contend;lock_outer;lock_inner;"), "\(namedFolded.prefix(2000))")
            // Left unnamed: PLT stubs only (no symbol table names them, stripped or not).
            let sections = try ShellRun.run("readelf -SW '\(built)'").stdout.split(separator: "\n")
            func start(_ name: String) -> UInt64? {
                sections.first { $0.split(separator: " ").contains(Substring(name)) }
                    .flatMap { line in line.split(separator: " ").first { $0.count == 16 && UInt64($0, radix: 16) != nil } }
                    .flatMap { UInt64($0, radix: 16) }
            }
            let plt = try #require(start(".plt")), text = try #require(start(".text"))
            let unnamed = namedFolded.split(whereSeparator: { $0 == ";" || $0 == " " || $0 == "\n" })
                .filter { $0.hasPrefix("mutex-stripped+0x") }.compactMap { UInt64($0.dropFirst("mutex-stripped+0x".count), radix: 16) }
            #expect(unnamed.allSatisfy { $0 >= plt && $0 < text }, "unnamed outside the PLT: \(unnamed.map { String($0, radix: 16) })")
            #expect(!named.stderr.contains("of mutex-stripped unnamed"), "\(named.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(cache)/\(id)/debuginfo"))
        }
    }
}
