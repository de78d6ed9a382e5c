import Foundation
import Glibc
import Testing
@testable import SwoffcpuSymbolizer

/// Files read on the traced process's behalf (docs/symbolization.md, "Files of the traced
/// process"): a fake root with symlinks pointing out of it, FIFOs, and JIT maps owned by
/// someone else. The tests run as root, so ownership is what a root tracer would see.
@Suite struct TargetFilesTests {
    /// A temporary tree: `root/` is the fake target root, `outside.txt` a file of the "host"
    /// beside it.
    final class Tree {
        let dir: String
        var root: String { dir + "/root" }
        var outside: String { dir + "/outside.txt" }

        init() throws {
            var template = Array("/tmp/swoffcpu-rootXXXXXX".utf8CString)
            guard let p = mkdtemp(&template) else { throw FixtureError.process("mkdtemp failed") }
            dir = String(cString: p)
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/lib", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
            try "INSIDE".write(toFile: root + "/lib/real.so", atomically: false, encoding: .utf8)
            try "OUTSIDE".write(toFile: outside, atomically: false, encoding: .utf8)
            // Absolute, relative and directory links that leave the root, and one that stays in it.
            try fm.createSymbolicLink(atPath: root + "/lib/absolute-out.so", withDestinationPath: outside)
            try fm.createSymbolicLink(atPath: root + "/lib/relative-out.so", withDestinationPath: "../../outside.txt")
            try fm.createSymbolicLink(atPath: root + "/hostdir", withDestinationPath: dir)
            try fm.createSymbolicLink(atPath: root + "/lib/inside.so", withDestinationPath: "/lib/real.so")
            try fm.createSymbolicLink(atPath: root + "/usr", withDestinationPath: "/")  // usr -> the root: stays in it
            #expect(mkfifo(root + "/lib/fifo.so", 0o644) == 0)
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// The content read through `TargetFiles.open`, or the errno.
    static func read(_ path: String, in root: String, openat2: Bool) -> Result<String, Errno> {
        let fd = TargetFiles.open(path, inRoot: root, useOpenat2: openat2)
        if fd < 0 { return .failure(Errno(errno)) }
        defer { close(fd) }
        guard let bytes = try? readAll(fd: fd, path: path, limit: 1 << 20) else { return .failure(Errno(errno)) }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    struct Errno: Error, Equatable { let value: Int32; init(_ v: Int32) { value = v } }

    /// Checks that symlinks under the fake root never reach the file outside it, with openat2
    /// (resolved inside the root) and with the fallback (not followed at all).
    @Test(arguments: [true, false]) func symlinksStayInTheRoot(openat2: Bool) throws {
        let t = try Tree()
        #expect(try Self.read("/lib/real.so", in: t.root, openat2: openat2).get() == "INSIDE")
        for path in ["/lib/absolute-out.so", "/lib/relative-out.so", "/hostdir/outside.txt",
                     "/lib/../../outside.txt", "/../outside.txt"] {
            let r = Self.read(path, in: t.root, openat2: openat2)
            #expect((try? r.get()) != "OUTSIDE", "\(path) escaped the root")
            #expect((try? r.get()) == nil, "\(path): \(r)")
        }
        // The host path itself is fine as the tracer's own.
        #expect(String(decoding: try readWholeFile(t.outside), as: UTF8.self) == "OUTSIDE")
        if openat2 {
            // Links that stay inside resolve as the target would see them.
            #expect(try Self.read("/lib/inside.so", in: t.root, openat2: true).get() == "INSIDE")
            #expect(try Self.read("/usr/lib/real.so", in: t.root, openat2: true).get() == "INSIDE")
        } else {
            #expect(Self.read("/lib/inside.so", in: t.root, openat2: false) == .failure(Errno(ELOOP)))
        }
    }

    /// Runs `body` on a thread of its own and says whether it ended within 10 s; if not, opens
    /// `fifo` for writing (which ends an open waiting on it) so that the test run goes on.
    static func finishes(unblocking fifo: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        if done.wait(timeout: .now() + 10) == .success { return true }
        for _ in 0..<10 {
            let w = open(fifo, O_WRONLY | O_NONBLOCK)
            if w >= 0 { close(w) }
            if done.wait(timeout: .now() + 1) == .success { break }
        }
        return false
    }

    /// Checks that a FIFO where a library should be is refused at once, not waited on.
    @Test func fifoIsNotWaitedOn() throws {
        let t = try Tree()
        let root = t.root
        let finished = Self.finishes(unblocking: root + "/lib/fifo.so") {
            #expect(throws: SymbolizerError.notELF(path: root + "/lib/fifo.so")) {
                try FileByteSource(path: "/lib/fifo.so", inRoot: root)
            }
            #expect(throws: SymbolizerError.notELF(path: root + "/lib/fifo.so")) {
                try FileByteSource(path: root + "/lib/fifo.so")
            }
        }
        #expect(finished, "opening the FIFO waited for a writer")
        #expect(try FileByteSource(path: "/lib/real.so", inRoot: t.root).size == 6)
        #expect(throws: SymbolizerError.self) { try FileByteSource(path: "/lib/absolute-out.so", inRoot: t.root) }
    }

    /// Checks that a JIT map is read only when it is a regular file owned by root or the
    /// target's user, and never through a symlink.
    @Test func perfMapOwnership() throws {
        let t = try Tree()
        let map = t.root + "/tmp/perf-42.map"
        try "1000 10 jitted\n".write(toFile: map, atomically: false, encoding: .utf8)
        // Owned by root: used.
        #expect(try TargetFiles.readPerfMap("/tmp/perf-42.map", inRoot: t.root, uids: [1000]).count == 15)
        // Owned by nobody, the target runs as 1000: not used.
        #expect(chown(map, 65534, 65534) == 0)
        #expect(throws: SymbolizerError.untrusted(path: map, why: "owned by uid 65534, neither the process's user nor root")) {
            try TargetFiles.readPerfMap("/tmp/perf-42.map", inRoot: t.root, uids: [1000])
        }
        #expect(throws: SymbolizerError.self) { try TargetFiles.readPerfMap(map, inRoot: nil, uids: [1000]) }
        // The target runs as nobody: its own map.
        #expect(try TargetFiles.readPerfMap(map, inRoot: nil, uids: [65534]).count == 15)
        // A symlink to a root-owned map: not followed.
        try "2000 10 planted\n".write(toFile: t.dir + "/rootmap", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: t.root + "/tmp/perf-43.map", withDestinationPath: t.dir + "/rootmap")
        #expect(throws: SymbolizerError.self) { try TargetFiles.readPerfMap("/tmp/perf-43.map", inRoot: t.root, uids: []) }
        #expect(throws: SymbolizerError.self) { try TargetFiles.readPerfMap(t.root + "/tmp/perf-43.map", inRoot: nil, uids: []) }
        // A FIFO: refused at once.
        #expect(mkfifo(t.root + "/tmp/perf-44.map", 0o644) == 0)
        #expect(throws: SymbolizerError.untrusted(path: t.root + "/tmp/perf-44.map", why: "not a regular file")) {
            try TargetFiles.readPerfMap("/tmp/perf-44.map", inRoot: t.root, uids: [0])
        }
    }

    /// Checks end to end that a live process's /tmp/perf-PID.map planted by another user
    /// (nobody; the fixture runs as root) is not used, and says so in the problems.
    @Test func plantedPerfMapIsIgnored() throws {
        let f = try fixtures()
        let p = try LiveProcess(try #require(f.c["pie-fp"]))
        defer { p.stop() }
        let jit = try p.value("jit")
        let mapPath = "/tmp/perf-\(p.pid).map"
        try "\(String(jit, radix: 16)) 40 planted_by_nobody\n".write(toFile: mapPath, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: mapPath) }
        #expect(chown(mapPath, 65534, 65534) == 0)
        #expect(TargetFiles.uids(pid: p.pid).contains(0))
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        let frame = syms.symbolize(jit + 0x10)
        #expect(frame.name != "planted_by_nobody" && !frame.resolved)
        #expect(syms.problems.contains { $0.contains(mapPath) && $0.contains("owned by uid 65534") }, "\(syms.problems)")
    }

    /// Checks that a stripped binary whose .gnu_debuglink names a FIFO by absolute path (a
    /// program's choice) does not hang its snapshot: the path is opened only inside the
    /// target's root, non-blocking, and refused as not a regular file.
    @Test func debuglinkToAFIFODoesNotHang() throws {
        let f = try fixtures()
        let t = try Tree()
        let fifo = t.dir + "/debug.fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        // .gnu_debuglink: the name, NUL, padding to 4 bytes, a CRC-32.
        var section = Array(fifo.utf8) + [0]
        while section.count % 4 != 0 { section.append(0) }
        section += [0, 0, 0, 0]
        try Data(section).write(to: URL(fileURLWithPath: t.dir + "/debuglink.bin"))
        let binary = t.dir + "/prog-fifo-link"
        try run(["objcopy", "--add-section", ".gnu_debuglink=\(t.dir)/debuglink.bin", f.strippedBare, binary])
        let p = try LiveProcess(binary)
        defer { p.stop() }
        let pid = p.pid
        nonisolated(unsafe) var snapshot: ProcessSymbols?
        let finished = Self.finishes(unblocking: fifo) {
            snapshot = try? Symbolizer(options: .init(debugDirectories: ["/nonexistent"])).snapshotProcess(pid: pid)
        }
        #expect(finished, "the snapshot waited on the FIFO named by the debuglink")
        #expect(snapshot?.modules.contains { $0.path == binary && $0.debugFile == nil } == true)
    }
}
