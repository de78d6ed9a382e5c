import Foundation
import Glibc

/// Builds the fixture programs of Fixtures/ into a temp dir, once per test run. The sources are
/// stored as `*.c.txt` etc. so that SwiftPM does not try to compile them into the test target.
enum FixtureError: Error, CustomStringConvertible {
    case command(String, Int32, String)
    case process(String)
    var description: String {
        switch self {
        case .command(let c, let s, let e): return "\(c) exited \(s): \(e)"
        case .process(let s): return s
        }
    }
}

let fixturesSourceDir: String = {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    return here.appendingPathComponent("Fixtures").path
}()

func tool(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    var dirs = path.split(separator: ":").map(String.init)
    dirs += ["/usr/bin", "/bin", "/opt/swift/usr/bin", "/root/.cargo/bin", "/usr/local/bin"]
    for d in dirs where access("\(d)/\(name)", X_OK) == 0 { return "\(d)/\(name)" }
    return nil
}

@discardableResult
func run(_ args: [String], cwd: String? = nil) throws -> String {
    let p = Process()
    guard let exe = args[0].hasPrefix("/") ? args[0] : tool(args[0]) else {
        throw FixtureError.process("\(args[0]) not found")
    }
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = Array(args.dropFirst())
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    // Drain both pipes before waiting so that a chatty compiler cannot block.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    if p.terminationStatus != 0 {
        throw FixtureError.command(args.joined(separator: " "), p.terminationStatus, String(decoding: errData, as: UTF8.self))
    }
    return String(decoding: outData, as: UTF8.self)
}

struct Fixtures: Sendable {
    let dir: String
    /// C program variants: "pie-fp", "pie-nofp", "nopie-fp", "nopie-nofp", "lib" (with libfixturelib.so).
    let c: [String: String]
    let lib: String
    /// Unstripped binary the stripped ones came from (for `nm`).
    let full: String
    /// Stripped; its debug file is in .debug/ next to it, found through .gnu_debuglink.
    let strippedDebuglink: String
    /// Stripped, no debuglink; debug file under debugRoot/.build-id/xx/yyyy.debug.
    let strippedBuildID: String
    let debugRoot: String
    /// Stripped, no debug file anywhere.
    let strippedBare: String
    let cpp: String

    static func build() throws -> Fixtures {
        let dir = NSTemporaryDirectory() + "swoffcpu-sym-fixtures-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Remove the fixtures when the test process ends (no capture: a C function pointer).
        atexit {
            try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "swoffcpu-sym-fixtures-\(getpid())")
        }
        func copySource(_ name: String, as dest: String) throws -> String {
            let to = "\(dir)/\(dest)"
            try? FileManager.default.removeItem(atPath: to)
            try FileManager.default.copyItem(atPath: "\(fixturesSourceDir)/\(name)", toPath: to)
            return to
        }
        let cSrc = try copySource("fixture.c.txt", as: "fixture.c")
        let libSrc = try copySource("fixturelib.c.txt", as: "fixturelib.c")
        let cppSrc = try copySource("fixture.cpp.txt", as: "fixture.cpp")

        let lib = "\(dir)/libfixturelib.so"
        try run(["gcc", "-O0", "-g", "-fPIC", "-shared", "-Wl,--build-id", libSrc, "-o", lib])

        var c: [String: String] = [:]
        let variants: [(String, [String])] = [
            ("pie-fp", ["-fPIE", "-pie", "-fno-omit-frame-pointer"]),
            ("pie-nofp", ["-fPIE", "-pie", "-fomit-frame-pointer"]),
            ("nopie-fp", ["-fno-pie", "-no-pie", "-fno-omit-frame-pointer"]),
            ("nopie-nofp", ["-fno-pie", "-no-pie", "-fomit-frame-pointer"]),
        ]
        for (name, flags) in variants {
            let out = "\(dir)/prog-\(name)"
            try run(["gcc", "-O0", "-g", "-Wl,--build-id"] + flags + [cSrc, "-o", out, "-ldl"])
            c[name] = out
        }
        let withLib = "\(dir)/prog-lib"
        try run(["gcc", "-O0", "-g", "-DWITH_LIB", "-Wl,--build-id", cSrc, "-o", withLib, "-L\(dir)", "-lfixturelib",
                 "-Wl,-rpath,\(dir)", "-ldl"])
        c["lib"] = withLib

        // Stripped binaries and their separate debug files.
        let full = "\(dir)/prog-full"
        try run(["gcc", "-O0", "-g", "-Wl,--build-id", cSrc, "-o", full, "-ldl"])
        let dlDir = "\(dir)/dl"
        try FileManager.default.createDirectory(atPath: "\(dlDir)/.debug", withIntermediateDirectories: true)
        let dlDebug = "\(dlDir)/.debug/prog-dl.debug"
        try run(["objcopy", "--only-keep-debug", full, dlDebug])
        let strippedDebuglink = "\(dlDir)/prog-dl"
        try run(["strip", "--strip-all", full, "-o", strippedDebuglink])
        try run(["objcopy", "--add-gnu-debuglink=\(dlDebug)", strippedDebuglink])

        let bidDir = "\(dir)/bid"
        try FileManager.default.createDirectory(atPath: bidDir, withIntermediateDirectories: true)
        let strippedBuildID = "\(bidDir)/prog-bid"
        try run(["strip", "--strip-all", full, "-o", strippedBuildID])
        let notes = try run(["readelf", "-n", strippedBuildID])
        guard let idLine = notes.split(separator: "\n").first(where: { $0.contains("Build ID:") }),
              let id = idLine.split(separator: " ").last.map(String.init), id.count > 2 else {
            throw FixtureError.process("no build-id in \(strippedBuildID)")
        }
        let debugRoot = "\(dir)/debugroot"
        let idDir = "\(debugRoot)/.build-id/\(id.prefix(2))"
        try FileManager.default.createDirectory(atPath: idDir, withIntermediateDirectories: true)
        try run(["objcopy", "--only-keep-debug", full, "\(idDir)/\(id.dropFirst(2)).debug"])

        let strippedBare = "\(dir)/prog-bare"
        try run(["strip", "--strip-all", full, "-o", strippedBare])

        let cpp = "\(dir)/prog-cpp"
        try run(["g++", "-O0", "-g", "-fPIE", "-pie", cppSrc, "-o", cpp])

        return Fixtures(dir: dir, c: c, lib: lib, full: full, strippedDebuglink: strippedDebuglink,
                        strippedBuildID: strippedBuildID, debugRoot: debugRoot, strippedBare: strippedBare, cpp: cpp)
    }

    /// `nm` value of a symbol in a binary.
    static func nmValue(_ binary: String, _ symbol: String) throws -> UInt64? {
        let out = try run(["nm", binary])
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 3, parts[2] == symbol { return UInt64(parts[0], radix: 16) }
        }
        return nil
    }
}

/// Built once for the whole run (global lets are initialized lazily and exactly once).
let sharedFixtures: Result<Fixtures, FixtureErrorBox> = Result { try Fixtures.build() }.mapError { FixtureErrorBox(String(describing: $0)) }

struct FixtureErrorBox: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func fixtures() throws -> Fixtures { try sharedFixtures.get() }

/// The Swift fixture, built on first use (swiftc is slow).
let sharedSwiftFixture: Result<String, FixtureErrorBox> = Result {
    let f = try fixtures()
    let src = "\(f.dir)/SwiftFixture.swift"
    try? FileManager.default.removeItem(atPath: src)
    try FileManager.default.copyItem(atPath: "\(fixturesSourceDir)/fixture.swift.txt", toPath: src)
    let out = "\(f.dir)/prog-swift"
    try run(["swiftc", "-Onone", "-g", "-module-name", "SwiftFixture", src, "-o", out])
    return out
}.mapError { FixtureErrorBox(String(describing: $0)) }

let rustcPath: String? = tool("rustc")

/// Rust fixtures (legacy, v0 mangling), built on first use when rustc exists.
let sharedRustFixtures: Result<(legacy: String, v0: String), FixtureErrorBox> = Result {
    let f = try fixtures()
    guard let rustc = rustcPath else { throw FixtureError.process("no rustc") }
    let src = "\(f.dir)/rfix.rs"
    try? FileManager.default.removeItem(atPath: src)
    try FileManager.default.copyItem(atPath: "\(fixturesSourceDir)/fixture.rs.txt", toPath: src)
    let legacy = "\(f.dir)/prog-rust-legacy"
    let v0 = "\(f.dir)/prog-rust-v0"
    try run([rustc, "-C", "opt-level=0", "-g", "--crate-name", "rfix", src, "-o", legacy])
    try run([rustc, "-C", "opt-level=0", "-g", "-C", "symbol-mangling-version=v0", "--crate-name", "rfix", src, "-o", v0])
    return (legacy, v0)
}.mapError { FixtureErrorBox(String(describing: $0)) }

/// A fixture running as a live process: started, its "key 0xADDR…" lines read up to "ready".
final class LiveProcess {
    let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private(set) var values: [String: [UInt64]] = [:]
    private var stopped = false

    init(_ executable: String, arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle.standardError
        try process.run()
        let fd = stdoutPipe.fileHandleForReading.fileDescriptor
        var text = ""
        var buf = [UInt8](repeating: 0, count: 4096)
        while !text.contains("ready\n") {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                stop()
                throw FixtureError.process("\(executable) ended before ready: \(text)")
            }
            text += String(decoding: buf[0..<n], as: UTF8.self)
        }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2 else { continue }
            let nums = parts.dropFirst().compactMap { p -> UInt64? in
                p.hasPrefix("0x") ? UInt64(p.dropFirst(2), radix: 16) : nil
            }
            if !nums.isEmpty { values[String(parts[0])] = nums }
        }
    }

    var pid: Int32 { process.processIdentifier }

    func value(_ key: String) throws -> UInt64 {
        guard let v = values[key]?.first else { throw FixtureError.process("fixture printed no \(key)") }
        return v
    }

    /// Closes stdin (the fixture exits) and reaps it.
    func stop() {
        if stopped { return }
        stopped = true
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { stop() }
}
