import Foundation
import Glibc
import Testing
@testable import SwoffcpuSymbolizer
import SwoffcpuTestSupport

private func buildID(_ path: String) throws -> String {
    let notes = try run(["readelf", "-n", path])
    guard let line = notes.split(separator: "\n").first(where: { $0.contains("Build ID:") }),
          let id = line.split(separator: " ").last else { throw FixtureError.process("no build-id in \(path)") }
    return String(id)
}

private func tempDir(_ name: String) throws -> String {
    let d = NSTemporaryDirectory() + "swoffcpu-debuginfod-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

@Suite("debuginfod")
struct DebuginfodTests {
    /// Checks the environment as elfutils reads it: servers split on spaces, the cache's default
    /// places, the timeout; no server, no client.
    @Test func environment() {
        #expect(DebuginfodConfig.fromEnvironment([:]) == nil)
        #expect(DebuginfodConfig.fromEnvironment(["DEBUGINFOD_URLS": "  "]) == nil)
        let c = DebuginfodConfig.fromEnvironment(["DEBUGINFOD_URLS": "https://a.example/ http://b.example:8002",
                                                  "HOME": "/home/u", "DEBUGINFOD_TIMEOUT": "5"])
        #expect(c?.urls == ["https://a.example", "http://b.example:8002"])
        #expect(c?.cacheDirectory == "/home/u/.cache/debuginfod_client")
        #expect(c?.timeoutSeconds == 5)
        #expect(DebuginfodConfig.fromEnvironment(["DEBUGINFOD_URLS": "http://x", "XDG_CACHE_HOME": "/xdg", "HOME": "/h"])?
            .cacheDirectory == "/xdg/debuginfod_client")
        #expect(DebuginfodConfig.fromEnvironment(["DEBUGINFOD_URLS": "http://x", "DEBUGINFOD_CACHE_PATH": "/c",
                                                  "XDG_CACHE_HOME": "/xdg"])?.cacheDirectory == "/c")
        #expect(DebuginfodConfig.fromEnvironment(["DEBUGINFOD_URLS": "http://x", "HOME": "/h"])?.timeoutSeconds == 90)
    }

    /// The done criterion at the symbolizer: a stripped program whose debug file only a local
    /// debuginfod server has (not beside it, not under the debug directories) is named; the
    /// file lands in the cache in elfutils' layout, and a later run names it from the cache with
    /// the server gone. A build-id the server does not have is remembered as a miss.
    @Test func strippedProgramNamedFromALocalServer() throws {
        let f = try fixtures()
        let id = try buildID(f.strippedBare)
        let root = try tempDir("srv"), cache = try tempDir("cache")
        defer { try? FileManager.default.removeItem(atPath: root); try? FileManager.default.removeItem(atPath: cache) }
        try FileManager.default.createDirectory(atPath: "\(root)/buildid/\(id)", withIntermediateDirectories: true)
        try run(["objcopy", "--only-keep-debug", f.full, "\(root)/buildid/\(id)/debuginfo"])
        let server = try LocalHTTPServer(root: root)
        defer { server.stop() }

        let p = try LiveProcess(f.strippedBare)
        defer { p.stop() }
        var options = SymbolizerOptions(debugDirectories: ["/nonexistent"])
        options.debuginfod = DebuginfodConfig(urls: [server.url], cacheDirectory: cache, timeoutSeconds: 10)
        let symbolizer = Symbolizer(options: options)
        let syms = try symbolizer.snapshotProcess(pid: p.pid)
        #expect(syms.symbolize(try p.value("alpha")).name == "fixture_alpha")
        #expect(syms.symbolize(try p.value("beta")).name == "fixture_static_beta")
        let mod = syms.modules.first { $0.path == f.strippedBare }
        #expect(mod?.debugFile == "\(cache)/\(id)/debuginfo")
        #expect(!syms.strippedModules.contains { $0.path == f.strippedBare })
        // Every other module of the process (libc…) was asked for too: none is on this server.
        #expect(symbolizer.debuginfod?.notes == [], "a 404 is not a failure")

        // From the cache, the server gone.
        server.stop()
        var cached = options
        cached.debuginfod = DebuginfodConfig(urls: ["http://127.0.0.1:1"], cacheDirectory: cache, timeoutSeconds: 10)
        let again = Symbolizer(options: cached)
        #expect(try again.snapshotProcess(pid: p.pid).symbolize(try p.value("beta")).name == "fixture_static_beta")

    }

    /// A server that answers 404: the miss is remembered in the cache (an empty `debuginfo`).
    @Test func missRemembered() throws {
        let root = try tempDir("srv404"), cache = try tempDir("cache404")
        defer { try? FileManager.default.removeItem(atPath: root); try? FileManager.default.removeItem(atPath: cache) }
        let server = try LocalHTTPServer(root: root)
        defer { server.stop() }
        let id = String(repeating: "cd", count: 20)
        let d = Debuginfod(config: DebuginfodConfig(urls: [server.url], cacheDirectory: cache, timeoutSeconds: 10))
        #expect(d.debugFile(buildID: id) == .notFound)
        var st = stat()
        #expect(stat("\(cache)/\(id)/debuginfo", &st) == 0 && st.st_size == 0)
        #expect(d.notes.isEmpty)
    }

    /// An unreachable server: the stacks stay unnamed (`module+0x…`), one line says why, and
    /// nothing hangs — connection refused, and a server that accepts but never answers (the
    /// timeout, 1 s here, ends it).
    @Test func unreachableServerOneLineNoHang() throws {
        let f = try fixtures()
        let p = try LiveProcess(f.strippedBare)
        defer { p.stop() }
        // A socket that listens and never answers.
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0,
                               sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &addr) { a in
            try a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                guard bind(s, sa, len) == 0, listen(s, 16) == 0, getsockname(s, sa, &len) == 0 else {
                    throw FixtureError.process("socket: errno \(errno)")
                }
            }
        }
        let silent = "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"
        for url in ["http://127.0.0.1:1", silent] {
            let cache = try tempDir("cachedead")
            defer { try? FileManager.default.removeItem(atPath: cache) }
            var options = SymbolizerOptions(debugDirectories: ["/nonexistent"])
            options.debuginfod = DebuginfodConfig(urls: [url], cacheDirectory: cache, timeoutSeconds: 1)
            let symbolizer = Symbolizer(options: options)
            let start = Date()
            let syms = try symbolizer.snapshotProcess(pid: p.pid)
            let took = Date().timeIntervalSince(start)
            let frame = syms.symbolize(try p.value("beta"))
            let notes = symbolizer.debuginfod?.notes ?? []
            print("[debuginfod] \(url): \(String(format: "%.2f", took)) s; \(notes)")
            #expect(!frame.resolved && frame.name.hasPrefix("prog-bare+0x"))
            #expect(notes.count == 1 && notes.first?.hasPrefix("debuginfod: \(url): ") == true, "\(notes)")
            // Every module's fetch on up to 8 threads, one timeout each at most: a few seconds.
            #expect(took < 10, "\(url): the snapshot took \(took) s")
            #expect(syms.strippedModules.contains { $0.path == f.strippedBare })
        }
    }
}
