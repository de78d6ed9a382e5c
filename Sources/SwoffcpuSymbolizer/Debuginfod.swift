import Foundation
import Glibc
import SwoffcpuSystem

/// Where a debuginfod client fetches separate debug files, as elfutils' client reads it from
/// the environment (debuginfod-find(1)):
///
/// - `DEBUGINFOD_URLS`: servers, separated by spaces; none (unset or empty) means no network use.
/// - `DEBUGINFOD_CACHE_PATH`: the cache; else `$XDG_CACHE_HOME/debuginfod_client`, else
///   `$HOME/.cache/debuginfod_client`. Layout: `<cache>/<build-id>/debuginfo`, so elfutils'
///   tools (gdb, perf, eu-stack) and swoffcpu share it.
/// - `DEBUGINFOD_TIMEOUT`: seconds to connect, then to receive each 100 KiB (default 90).
/// - `DEBUGINFOD_MAXTIME`, `DEBUGINFOD_MAXSIZE`: a download's whole time and size (default: none).
/// - `<cache>/cache_miss_s`: how long a miss (every server answered 404) is remembered, as an
///   empty `debuginfo` file (default 600 s).
public struct DebuginfodConfig: Sendable, Equatable {
    public var urls: [String]
    public var cacheDirectory: String
    public var timeoutSeconds: Int = 90
    public var maxTimeSeconds: Int = 0
    public var maxBytes: UInt64 = 0
    /// Downloads at once (over every build-id of a snapshot).
    public var parallelFetches: Int = 8

    public init(urls: [String], cacheDirectory: String, timeoutSeconds: Int = 90) {
        self.urls = urls
        self.cacheDirectory = cacheDirectory
        self.timeoutSeconds = timeoutSeconds
    }

    /// The configuration the environment gives, or nil when `DEBUGINFOD_URLS` names no server.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> DebuginfodConfig? {
        let urls = (env["DEBUGINFOD_URLS"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            .map { String($0) }
            .map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            .filter { !$0.isEmpty }
        guard !urls.isEmpty else { return nil }
        let cache: String
        if let c = env["DEBUGINFOD_CACHE_PATH"], !c.isEmpty {
            cache = c
        } else if let x = env["XDG_CACHE_HOME"], x.hasPrefix("/") {
            cache = x + "/debuginfod_client"
        } else {
            let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root"
            cache = home + "/.cache/debuginfod_client"
        }
        var config = DebuginfodConfig(urls: urls, cacheDirectory: cache)
        if let t = env["DEBUGINFOD_TIMEOUT"].flatMap({ Int($0) }), t >= 0 { config.timeoutSeconds = t }
        if let t = env["DEBUGINFOD_MAXTIME"].flatMap({ Int($0) }), t >= 0 { config.maxTimeSeconds = t }
        if let s = env["DEBUGINFOD_MAXSIZE"].flatMap({ UInt64($0) }) { config.maxBytes = s }
        return config
    }
}

/// A debuginfod client (the protocol of elfutils' `debuginfod_find_debuginfo`): `GET
/// <server>/buildid/<hex build-id>/debuginfo`, each server in turn until one has it, into the
/// cache shared with elfutils' tools. One download per build-id however many modules or
/// threads ask (the others wait for it); a server that cannot be reached is not asked again in
/// this run, so that a dead server costs one timeout, not one per file. Thread-safe.
public final class Debuginfod: @unchecked Sendable {
    public let config: DebuginfodConfig

    public enum Result: Equatable, Sendable {
        /// The debug file, in the cache.
        case found(path: String)
        /// No server has it (or the cache remembers that none had it).
        case notFound
        /// It could not be asked for: why (one line).
        case failed(String)
    }

    private let lock = NSCondition()
    private var results: [String: Result] = [:]
    private var inFlight: Set<String> = []
    /// Servers that could not be reached: why, by server.
    private var deadServers: [String: String] = [:]
    /// What went wrong, one line per server or cause, in order, with how many build-ids it cost.
    private var failures: [(String, Int)] = []
    private var failureKeys: [String] = []

    public init(config: DebuginfodConfig) {
        self.config = config
    }

    /// The debug file of `buildID` (lower-case hex): from the cache, else downloaded.
    public func debugFile(buildID: String) -> Result {
        lock.lock()
        while inFlight.contains(buildID) { lock.wait() }
        if let r = results[buildID] {
            lock.unlock()
            return r
        }
        inFlight.insert(buildID)
        lock.unlock()
        let r = fetch(buildID)
        lock.lock()
        results[buildID] = r
        inFlight.remove(buildID)
        if case .failed(let why) = r { noteFailure(why) }
        lock.broadcast()
        lock.unlock()
        return r
    }

    /// One line per cause of failure (an unreachable server, no libcurl, a cache that cannot be
    /// written), with the number of build-ids it left without symbols.
    public var notes: [String] {
        lock.lock()
        defer { lock.unlock() }
        return failures.map { why, n in "debuginfod: \(why) (\(n) build-id\(n == 1 ? "" : "s") not fetched)" }
    }

    /// Called with the lock held. One line per server (libcurl's messages differ by their
    /// timings: "after 5 ms", "after 0 ms"), or per cause when no server is to blame.
    private func noteFailure(_ why: String) {
        let key = config.urls.first { why.hasPrefix($0 + ": ") } ?? why
        if let i = failureKeys.firstIndex(of: key) { failures[i].1 += 1 } else {
            failureKeys.append(key)
            failures.append((why, 1))
        }
    }

    // MARK: - Cache and servers

    private var missSeconds: Double {
        let text = (try? readWholeFile(config.cacheDirectory + "/cache_miss_s", limit: 64)).map { String(decoding: $0, as: UTF8.self) }
        return text.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 600
    }

    private func fetch(_ buildID: String) -> Result {
        guard buildID.count >= 2, buildID.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return .notFound }
        let dir = config.cacheDirectory + "/" + buildID
        let target = dir + "/debuginfo"
        var st = stat()
        if lstat(target, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
            if st.st_size > 0 { return .found(path: target) }
            // A remembered miss, still fresh?
            let age = Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec)
            if age >= 0 && age < missSeconds { return .notFound }
        }
        guard makeDirectories(dir) else {
            return .failed("cannot create the cache directory \(dir): \(String(cString: strerror(errno)))")
        }
        var answered404 = 0
        var lastFailure: String? = nil
        for server in config.urls {
            lock.lock()
            let dead = deadServers[server]
            lock.unlock()
            if let dead {
                lastFailure = dead
                continue
            }
            var template = Array((dir + "/.debuginfo.XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if fd < 0 { return .failed("cannot write in the cache \(dir): \(String(cString: strerror(errno)))") }
            let tmp = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let url = "\(server)/buildid/\(buildID)/debuginfo"
            let outcome = HTTP.get(url, into: fd, timeout: config.timeoutSeconds, maxTime: config.maxTimeSeconds,
                                   maxBytes: config.maxBytes)
            let synced = fsync(fd) == 0
            close(fd)
            switch outcome {
            case .done(let status) where status == 200 || status == 0:
                if synced && rename(tmp, target) == 0 { return .found(path: target) }
                unlink(tmp)
                return .failed("cannot write in the cache \(dir): \(String(cString: strerror(errno)))")
            case .done(let status):
                unlink(tmp)
                if status == 404 { answered404 += 1 } else { lastFailure = "\(server): HTTP \(status)" }
            case .failed(let why):
                unlink(tmp)
                let line = "\(server): \(why)"
                lastFailure = line
                lock.lock()
                deadServers[server] = line
                lock.unlock()
            case .unavailable(let why):
                unlink(tmp)
                return .failed(why)
            }
        }
        if answered404 == config.urls.count {
            // Remembered, as elfutils does: an empty file, for cache_miss_s.
            let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) }
            return .notFound
        }
        return lastFailure.map { .failed($0) } ?? .notFound
    }

    /// `path` and its parents, mode 0700 (the cache holds what the user's programs are made of).
    private func makeDirectories(_ path: String) -> Bool {
        var st = stat()
        if stat(path, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path && parent != "/" && !makeDirectories(parent) { return false }
        return mkdir(path, 0o700) == 0 || errno == EEXIST
    }
}
