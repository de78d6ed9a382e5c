import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Builds the deep-stack workloads (Workloads/deep*.c, deepcpp.cc) the way most programs are
/// built: -O2 without frame pointers (libdeepfp.so with them, for mixed stacks).
/// Into $TMPDIR/swoffcpu-workloads-UID/deep-PID, once per test run.
enum DeepWorkload {
    nonisolated(unsafe) private static var built: [String: String] = [:]
    private static let lock = NSLock()

    static func binary(_ name: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let b = built[name] { return b }
        let src = WorkloadBuilder.sourceDir
        let dir = NSTemporaryDirectory() + "/swoffcpu-workloads-\(geteuid())/deep-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cc = WorkloadBuilder.compiler
        func run(_ tool: String, _ args: [String]) throws {
            let status = try Spawn.run(tool, args)
            guard status == 0 else {
                throw Procfs.Failure(description: "\(tool) \(args.joined(separator: " ")) exited with \(status)")
            }
        }
        switch name {
        case "deep":
            try run(cc, ["-O2", "-g", "-fomit-frame-pointer", "-fPIC", "-shared", "-o", dir + "/libdeep.so", src + "/deeplib.c"])
            try run(cc, ["-O2", "-g", "-fno-omit-frame-pointer", "-fPIC", "-shared", "-o", dir + "/libdeepfp.so",
                         src + "/deepfplib.c"])
            try run(cc, ["-O2", "-g", "-fomit-frame-pointer", "-pthread", "-Wall", "-I", src, "-o", dir + "/deep",
                         src + "/deep.c", "-L", dir, "-ldeep", "-ldeepfp", "-Wl,-rpath," + dir])
        case "deepdl":
            try run(cc, ["-O2", "-g", "-fomit-frame-pointer", "-fPIC", "-shared", "-o", dir + "/libdeep.so", src + "/deeplib.c"])
            try run(cc, ["-O2", "-g", "-fomit-frame-pointer", "-pthread", "-Wall", "-I", src, "-o", dir + "/deepdl",
                         src + "/deepdl.c", "-ldl"])
        case "deepswift":
            let swiftc = ["/opt/swift/usr/bin/swiftc", "/usr/bin/swiftc"].first { FileManager.default.isExecutableFile(atPath: $0) }
                ?? "swiftc"
            let copy = dir + "/deepswift.swift"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: src + "/deepswift.swift.txt", toPath: copy)
            try run(swiftc, ["-O", "-g", "-o", dir + "/deepswift", copy])
        case "deeprust":
            // Debian's rustc (scripts/install-deps.sh --test), else rustup's.
            let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
            let rustc = ["/usr/bin/rustc", home + "/.cargo/bin/rustc", "/root/.cargo/bin/rustc"]
                .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "rustc"
            let copy = dir + "/deeprust.rs"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: src + "/deeprust.rs.txt", toPath: copy)
            try run(rustc, ["-C", "opt-level=2", "-g", "-o", dir + "/deeprust", copy])
        case "deepcpp":
            let cxx = ProcessInfo.processInfo.environment["CXX"] ?? "c++"
            try run(cxx, ["-O2", "-g", "-fomit-frame-pointer", "-pthread", "-o", dir + "/deepcpp", src + "/deepcpp.cc"])
        default:
            throw Procfs.Failure(description: "no deep workload \(name)")
        }
        built[name] = dir + "/" + name
        return dir + "/" + name
    }
}

extension IntegrationTests {
    @Suite("Unwinding", .enabled(if: geteuid() == 0, "loads BPF programs: run as root"))
    struct Unwinding {
        /// One folded line: state, thread, frames (root first), value.
        struct Line {
            var state: String
            var thread: String
            var frames: [String]
            var value: UInt64
        }

        static func parse(_ path: String) throws -> [Line] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { l in
                guard let sp = l.lastIndex(of: " "), let v = UInt64(l[l.index(after: sp)...]) else { return nil }
                let f = l[..<sp].split(separator: ";", omittingEmptySubsequences: false).map(String.init)
                guard f.count >= 2 else { return nil }
                return Line(state: f[0], thread: f[1], frames: Array(f.dropFirst(2)), value: v)
            }
        }

        /// Whether `frames` (root first) is a whole stack: it starts at the thread's outermost
        /// frame (clone3), holds `chain` contiguous and in order, and has a user frame (libc's
        /// wait function) below the chain's last function before the kernel's frames.
        static func isWhole(_ frames: [String], chain: [String]) -> Bool {
            guard frames.first == "clone3", let start = frames.firstIndex(of: chain[0]),
                  start + chain.count < frames.count, Array(frames[start..<(start + chain.count)]) == chain
            else { return false }
            let below = frames[start + chain.count]
            return !below.hasSuffix("_[k]") && !below.hasPrefix("[")
        }

        /// The share of each thread's off-CPU (sleep and blocked) time whose stack is whole.
        static func wholeShares(_ lines: [Line], chains: [String: [String]]) -> [String: (whole: UInt64, total: UInt64)] {
            var out: [String: (whole: UInt64, total: UInt64)] = [:]
            var broken: [String: [Line]] = [:]
            for l in lines where l.state == "sleep" || l.state == "blocked" {
                guard let name = chains.keys.first(where: { l.thread.hasPrefix($0 + "-") }) else { continue }
                var e = out[name] ?? (0, 0)
                e.total += l.value
                if isWhole(l.frames, chain: chains[name]!) { e.whole += l.value } else { broken[name, default: []].append(l) }
                out[name] = e
            }
            // What a thread under 95 % whole had instead, so that a failure in CI says why.
            for (name, e) in out where e.whole * 100 < e.total * 95 {
                for l in (broken[name] ?? []).sorted(by: { $0.value > $1.value }).prefix(3) {
                    print("[unwind] \(name) not whole, \(l.value) µs: \(l.state);\(l.frames.joined(separator: ";"))")
                }
            }
            return out
        }

        static let x = (1...24).map { String(format: "x%02d", $0) }

        /// Checks that threads of an -O2 program without frame pointers, waiting 24 frames deep
        /// (each frame 256 bytes of locals) in a mutex, a condition variable, a pipe read and
        /// nanosleep — in the executable, through a shared library without frame pointers, and
        /// through one with frame pointers (mixed) — show the whole stack from the thread's
        /// outermost frame through its entry function to the libc wait, in order, for ≥ 95 %
        /// of their off-CPU time; so does a thread waiting since before the trace (the
        /// sleepable seed walk). With --unwind fp, the same stacks are not whole (the reason
        /// for all this), and the JSON report counts the unwinds.
        @Test func wholeStacksWithoutFramePointers() throws {
            let w = try Workload("deep", binary: try DeepWorkload.binary("deep"))
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-unwind-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded", json = dir + "/r.json"
            #expect(try runTracer(["-p", "\(w.pid)", "-d", "2", "--folded", folded, "--folded-thread", "--json", json]) == 0)
            let lines = try Self.parse(folded)
            let chains: [String: [String]] = [
                "mtx": ["start_thread", "mtx_entry"] + Self.x + ["x_bottom"],
                "cv": ["start_thread", "cv_entry"] + Self.x + ["x_bottom"],
                "rd": ["start_thread", "rd_entry"] + Self.x + ["x_bottom"],
                "ns": ["start_thread", "ns_entry"] + Self.x + ["x_bottom"],
                "parked": ["start_thread", "parked_entry"] + Self.x + ["x_bottom"],
                "lib": ["start_thread", "lib_entry"] + (1...12).map { String(format: "y%02d", $0) } + ["lib_enter"]
                    + (1...12).map { String(format: "l%02d", $0) } + ["l_bottom"],
                "mix": ["start_thread", "mix_entry"] + (1...8).map { String(format: "z%02d", $0) } + ["z_fp", "fp_enter"]
                    + (1...8).map { String(format: "f%02d", $0) } + ["f_bottom", "z_leaf"],
            ]
            let shares = Self.wholeShares(lines, chains: chains)
            for name in chains.keys.sorted() {
                let s = shares[name] ?? (0, 0)
                print("[unwind] \(name): whole \(s.whole) of \(s.total) µs off-CPU")
                #expect(s.total > 0, "\(name): no off-CPU stack")
                #expect(s.whole * 100 >= s.total * 95, "\(name): whole stacks for \(s.whole) of \(s.total) µs (< 95 %)")
            }
            if let bad = lines.first(where: { l in chains.keys.contains { l.thread.hasPrefix($0 + "-") } && (l.state == "sleep" || l.state == "blocked")
                && !Self.isWhole(l.frames, chain: chains.first { l.thread.hasPrefix($0.key + "-") }!.value) }) {
                print("[unwind] a stack that is not whole: \(bad.state);\(bad.thread);\(bad.frames.joined(separator: ";")) \(bad.value)")
            }
            // The JSON report says what the unwinder did.
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
            let unwind = report?["unwind"] as? [String: Any]
            #expect(unwind?["mode"] as? String == "auto")
            #expect(((unwind?["walks"] as? NSNumber)?.intValue ?? 0) > 0, "JSON unwind.walks")
            #expect(((unwind?["table_rows"] as? NSNumber)?.intValue ?? 0) > 1000, "JSON unwind.table_rows (libc's table)")

            // Frame pointers alone: the chain is cut (what --unwind dwarf/auto fixes).
            let fpFolded = dir + "/fp.folded"
            #expect(try runTracer(["-p", "\(w.pid)", "-d", "1", "--unwind", "fp", "--folded", fpFolded, "--folded-thread"]) == 0)
            let fp = Self.wholeShares(try Self.parse(fpFolded), chains: ["ns": chains["ns"]!])["ns"] ?? (0, 0)
            print("[unwind] --unwind fp: ns whole \(fp.whole) of \(fp.total) µs")
            #expect(fp.total > 0 && fp.whole * 2 < fp.total, "frame pointers alone cannot walk this program")
        }

        /// The same for C++ (templates, std::thread, std::mutex, std::condition_variable), -O2
        /// without frame pointers, and with --unwind dwarf (no frame-pointer step at all).
        @Test func wholeStacksCxx() throws {
            let w = try Workload("deepcpp", binary: try DeepWorkload.binary("deepcpp"))
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-unwind-cpp-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded"
            #expect(try runTracer(["-p", "\(w.pid)", "-d", "2", "--unwind", "dwarf", "--folded", folded, "--folded-thread"]) == 0)
            let deep = (0...23).map { "Deep<\(24 - $0)>::run(int, int)" } + ["wait_bottom(int)"]
            let shares = Self.wholeShares(try Self.parse(folded), chains: ["cppmtx": deep, "cppcv": deep])
            for name in ["cppmtx", "cppcv"] {
                let s = shares[name] ?? (0, 0)
                print("[unwind] \(name): whole \(s.whole) of \(s.total) µs off-CPU")
                #expect(s.total > 0, "\(name): no off-CPU stack")
                #expect(s.whole * 100 >= s.total * 95, "\(name): whole stacks for \(s.whole) of \(s.total) µs (< 95 %)")
            }
        }

        /// The same for Swift (swiftc -O): 17 levels of a recursive function under a thread's
        /// closure, waiting in nanosleep; libswiftCore and the other runtime libraries on the way.
        @Test func wholeStacksSwift() throws {
            let w = try Workload("deepswift", binary: try DeepWorkload.binary("deepswift"))
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-unwind-swift-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded"
            #expect(try runTracer(["-p", "\(w.pid)", "-d", "2", "--folded", folded, "--folded-thread"]) == 0)
            let chain = ["deepswift.swiftEntry() -> ()"] + Array(repeating: "deepswift.level(Swift.Int, Swift.Int) -> Swift.Int", count: 17)
                + ["deepswift.bottom(Swift.Int) -> Swift.Int"]
            let s = Self.wholeShares(try Self.parse(folded), chains: ["swdeep": chain])["swdeep"] ?? (0, 0)
            print("[unwind] swdeep: whole \(s.whole) of \(s.total) µs off-CPU")
            #expect(s.total > 0, "no off-CPU stack")
            #expect(s.whole * 100 >= s.total * 95, "whole stacks for \(s.whole) of \(s.total) µs (< 95 %)")
        }

        /// The same for Rust (rustc -C opt-level=2, no frame pointers, an lld-style layout where
        /// the executable segment's vaddr − offset differs from the mapping's start): 20 levels,
        /// waiting in std's futex-based Mutex.
        @Test func wholeStacksRust() throws {
            let w = try Workload("deeprust", binary: try DeepWorkload.binary("deeprust"))
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-unwind-rust-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded"
            #expect(try runTracer(["-p", "\(w.pid)", "-d", "2", "--folded", folded, "--folded-thread"]) == 0)
            let chain = ["deeprust::rust_entry"] + Array(repeating: "deeprust::level", count: 20) + ["deeprust::bottom"]
            let s = Self.wholeShares(try Self.parse(folded), chains: ["rsdeep": chain])["rsdeep"] ?? (0, 0)
            print("[unwind] rsdeep: whole \(s.whole) of \(s.total) µs off-CPU")
            #expect(s.total > 0, "no off-CPU stack")
            #expect(s.whole * 100 >= s.total * 95, "whole stacks for \(s.whole) of \(s.total) µs (< 95 %)")
        }

        /// Checks that a library dlopen'ed during the trace gets its table: the thread's stacks
        /// through it are whole once the tables are refreshed (within a second), none is wrong
        /// meanwhile — each is whole or ends in a [truncated: …] frame — and the JSON report
        /// counts the refresh.
        @Test func libraryLoadedDuringTheTrace() throws {
            let exe = try DeepWorkload.binary("deepdl")
            let lib = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("libdeep.so").path
            unlink(lib + ".go")
            let w = try Workload("deepdl", ["-f", lib], binary: exe)
            defer { w.stop(); unlink(lib + ".go") }
            let dir = NSTemporaryDirectory() + "/swoffcpu-unwind-dl-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let folded = dir + "/out.folded", json = dir + "/r.json"
            // The library is loaded half a second into the trace.
            let command = "'\(try swoffcpuBinary())' -v -p \(w.pid) -d 4 --folded '\(folded)' --folded-thread --json '\(json)'"
                + " > /dev/null 2> '\(dir)/log' & p=$!; \(TraceWindow.shellWait(log: dir + "/log")) sleep 0.5; touch '\(lib).go'; wait $p"
            #expect(try waitChild(try Spawn.spawn("/bin/sh", ["-c", command])) == 0)
            let chain = ["start_thread", "dl_entry"] + (1...6).map { String(format: "d%02d", $0) } + ["d_bottom", "lib_enter"]
                + (1...12).map { String(format: "l%02d", $0) } + ["l_bottom"]
            var through = UInt64(0), truncated = UInt64(0), other = UInt64(0)
            for l in try Self.parse(folded) where l.thread.hasPrefix("dl-") && (l.state == "sleep" || l.state == "blocked") {
                if Self.isWhole(l.frames, chain: chain) {
                    through += l.value
                } else if l.frames.contains(where: { $0.hasPrefix("[truncated: ") }) {
                    truncated += l.value
                } else if l.frames.contains("d01") || l.frames.contains(where: { $0.hasPrefix("l0") || $0.hasPrefix("l1") }) {
                    other += l.value
                    print("[unwind] dl: not whole, not marked: \(l.frames.joined(separator: ";"))")
                }
            }
            print("[unwind] dl: whole through the library \(through) µs, truncated \(truncated) µs, neither \(other) µs")
            #expect(through > 1_000_000, "whole stacks through the dlopen'ed library for over a second")
            #expect(other == 0, "every stack through the new code is whole or marked truncated")
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
            let unwind = report?["unwind"] as? [String: Any]
            #expect(((unwind?["refreshes"] as? NSNumber)?.intValue ?? 0) >= 1, "the tables were refreshed")
        }
    }
}

private func runTracer(_ args: [String]) throws -> Int32 {
    let out = open("/dev/null", O_WRONLY | O_CLOEXEC)
    defer { close(out) }
    return try waitChild(try Spawn.spawn(try swoffcpuBinary(), args, stdout: out))
}
