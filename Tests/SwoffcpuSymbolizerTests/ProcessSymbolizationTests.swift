import Foundation
import Glibc
import Testing
@testable import SwoffcpuSymbolizer

/// Live-process tests: each starts a fixture, snapshots it and names the addresses it printed.
@Suite struct ProcessSymbolizationTests {
    /// Checks that the C fixture's own functions, libc's pthread_mutex_lock and a captured stack
    /// are named in PIE and non-PIE builds, with and without frame pointers.
    @Test(arguments: ["pie-fp", "pie-nofp", "nopie-fp", "nopie-nofp"])
    func cProgramVariants(variant: String) throws {
        let f = try fixtures()
        let binary = try #require(f.c[variant])
        let p = try LiveProcess(binary)
        defer { p.stop() }
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)

        let alpha = syms.symbolize(try p.value("alpha"))
        #expect(alpha.name == "fixture_alpha")
        #expect(alpha.module == basename(binary))
        #expect(alpha.resolved && !alpha.isKernel && alpha.offset == 0)
        let inside = syms.symbolize(try p.value("alpha") + 3)
        #expect(inside.name == "fixture_alpha" && inside.offset == 3)
        #expect(syms.symbolize(try p.value("beta")).name == "fixture_static_beta")
        #expect(syms.symbolize(try p.value("main")).name == "main")

        let libc = syms.symbolize(try p.value("libc"))
        #expect(libc.name == "pthread_mutex_lock")
        #expect(libc.module == "libc.so.6")

        let stack = try #require(p.values["stack"])
        #expect(syms.symbolize(stack).map(\.name) == ["fixture_static_beta", "fixture_alpha", "main"])
    }

    /// Checks which addresses can be return addresses in a live process's snapshot: its code,
    /// not its heap, its stack nor an address outside every mapping (a frame-pointer walk's
    /// junk, such as `[unknown]+0x2faf080` read past `sleep`'s outermost frame).
    @Test func neverCodeAddresses() throws {
        let f = try fixtures()
        let p = try LiveProcess(try #require(f.c["pie-nofp"]))
        defer { p.stop() }
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        #expect(!syms.isNeverCode(try p.value("alpha")))
        #expect(!syms.isNeverCode(try p.value("libc")))
        let maps = try String(contentsOfFile: "/proc/\(p.pid)/maps", encoding: .utf8).split(separator: "\n")
        func start(of name: String) -> UInt64? {
            maps.first { $0.hasSuffix(name) }.flatMap { UInt64($0.split(separator: "-")[0], radix: 16) }
        }
        let stack = try #require(start(of: "[stack]"))
        #expect(syms.isNeverCode(stack + 64))
        if let heap = start(of: "[heap]") { #expect(syms.isNeverCode(heap)) }
        let unmapped: UInt64 = 0x2faf080
        #expect(syms.mappingIndex(unmapped) == nil, "0x2faf080 mapped in the fixture")
        #expect(syms.isNeverCode(unmapped))
    }

    /// Checks that a function and a static function inside a shared library are named, with the
    /// library's basename as module.
    @Test func sharedLibrary() throws {
        let f = try fixtures()
        let p = try LiveProcess(try #require(f.c["lib"]))
        defer { p.stop() }
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        let pub = syms.symbolize(try p.value("lib_public"))
        #expect(pub.name == "fixture_lib_public")
        #expect(pub.module == "libfixturelib.so")
        #expect(syms.symbolize(try p.value("lib_static")).name == "fixture_lib_static_helper")
        #expect(syms.symbolize(try p.value("alpha")).name == "fixture_alpha")
    }

    /// Checks that a stripped binary is named through its .gnu_debuglink file in the .debug/ subdir.
    @Test func strippedWithDebuglink() throws {
        let f = try fixtures()
        let p = try LiveProcess(f.strippedDebuglink)
        defer { p.stop() }
        let syms = try Symbolizer(options: .init(debugDirectories: ["/nonexistent"])).snapshotProcess(pid: p.pid)
        #expect(syms.symbolize(try p.value("alpha")).name == "fixture_alpha")
        #expect(syms.symbolize(try p.value("beta")).name == "fixture_static_beta")
        let mod = syms.modules.first { $0.path == f.strippedDebuglink }
        #expect(mod?.debugFile?.hasSuffix("/.debug/prog-dl.debug") == true)
    }

    /// Checks that a stripped binary is named through /<debugdir>/.build-id/xx/yyyy.debug.
    @Test func strippedWithBuildID() throws {
        let f = try fixtures()
        let p = try LiveProcess(f.strippedBuildID)
        defer { p.stop() }
        let syms = try Symbolizer(options: .init(debugDirectories: [f.debugRoot])).snapshotProcess(pid: p.pid)
        #expect(syms.symbolize(try p.value("alpha")).name == "fixture_alpha")
        #expect(syms.symbolize(try p.value("beta")).name == "fixture_static_beta")
        let mod = syms.modules.first { $0.path == f.strippedBuildID }
        #expect(mod?.debugFile?.contains("/.build-id/") == true)
    }

    /// Checks that an address in a stripped binary without debug file falls back to
    /// `module+0xVADDR`, the ELF virtual address `nm` shows for the unstripped build.
    @Test func strippedWithoutDebugFileFallsBack() throws {
        let f = try fixtures()
        let p = try LiveProcess(f.strippedBare)
        defer { p.stop() }
        let syms = try Symbolizer(options: .init(debugDirectories: ["/nonexistent"])).snapshotProcess(pid: p.pid)
        let frame = syms.symbolize(try p.value("alpha"))
        let vaddr = try #require(try Fixtures.nmValue(f.full, "fixture_alpha"))
        #expect(!frame.resolved)
        #expect(frame.module == "prog-bare")
        #expect(frame.offset == vaddr)
        #expect(frame.name == "prog-bare+0x\(String(vaddr, radix: 16))")
        // libc still has its .dynsym.
        #expect(syms.symbolize(try p.value("libc")).name == "pthread_mutex_lock")
    }

    /// Checks that C++ template/namespace names are demangled, in full and without arguments.
    @Test func cxxNames() throws {
        let f = try fixtures()
        let p = try LiveProcess(f.cpp)
        defer { p.stop() }
        let full = try Symbolizer().snapshotProcess(pid: p.pid)
        #expect(full.symbolize(try p.value("twice")).name == "int ns::inner::twice<int>(int)")
        #expect(full.symbolize(try p.value("make")).name == "ns::Widget<long>::make(long)")
        #expect(full.symbolize(try p.value("hidden")).name == "(anonymous namespace)::hidden_helper(int)")
        let short = try Symbolizer(options: .init(nameStyle: .noArguments)).snapshotProcess(pid: p.pid)
        #expect(short.symbolize(try p.value("twice")).name == "ns::inner::twice<int>")
        #expect(short.symbolize(try p.value("make")).name == "ns::Widget<long>::make")
        #expect(short.symbolize(try p.value("hidden")).name == "(anonymous namespace)::hidden_helper")
        let raw = try Symbolizer(options: .init(demangle: false)).snapshotProcess(pid: p.pid)
        #expect(raw.symbolize(try p.value("twice")).name == "_ZN2ns5inner5twiceIiEET_S2_")
    }

    /// Checks that Swift frames of a captured stack are demangled with swift_demangle.
    @Test func swiftNames() throws {
        let binary = try sharedSwiftFixture.get()
        let p = try LiveProcess(binary)
        defer { p.stop() }
        let stack = try #require(p.values["stack"])
        let names = try Symbolizer().snapshotProcess(pid: p.pid).symbolize(stack).map(\.name)
        #expect(names.contains("SwiftFixture.Outer.Worker.deepWork(count: Swift.Int) -> Swift.Int"), "\(names)")
        #expect(names.contains("SwiftFixture.captureStack() -> Swift.Array<Swift.UInt>"), "\(names)")
        let short = try Symbolizer(options: .init(nameStyle: .noArguments)).snapshotProcess(pid: p.pid).symbolize(stack).map(\.name)
        #expect(short.contains("SwiftFixture.Outer.Worker.deepWork(count:)"), "\(short)")
        #expect(short.contains("SwiftFixture.captureStack()"), "\(short)")
        let raw = try Symbolizer(options: .init(demangle: false)).snapshotProcess(pid: p.pid).symbolize(stack).map(\.name)
        #expect(raw.contains { $0.hasPrefix("$s12SwiftFixture5OuterV6WorkerC8deepWork") }, "\(raw)")
    }

    /// Checks that Rust functions are named in legacy and v0 mangling (skipped without rustc).
    @Test(.enabled(if: rustcPath != nil)) func rustNames() throws {
        let (legacy, v0) = try sharedRustFixtures.get()
        let p1 = try LiveProcess(legacy)
        defer { p1.stop() }
        let n1 = try Symbolizer().snapshotProcess(pid: p1.pid).symbolize(try p1.value("area")).name
        #expect(n1 == "rfix::shapes::Circle::area")
        let p2 = try LiveProcess(v0)
        defer { p2.stop() }
        let n2 = try Symbolizer().snapshotProcess(pid: p2.pid).symbolize(try p2.value("area")).name
        #expect(n2 == "<rfix::shapes::Circle>::area")
    }

    /// Checks that a binary deleted after start is still named, through /proc/PID/map_files.
    @Test func deletedBinary() throws {
        let f = try fixtures()
        let copy = "\(f.dir)/prog-deleted-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.copyItem(atPath: try #require(f.c["pie-fp"]), toPath: copy)
        let p = try LiveProcess(copy)
        defer { p.stop() }
        try FileManager.default.removeItem(atPath: copy)
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        #expect(syms.mapEntries.contains { $0.deleted && $0.path == copy })
        let alpha = syms.symbolize(try p.value("alpha"))
        #expect(alpha.name == "fixture_alpha")
        #expect(alpha.module == basename(copy))
    }

    /// Checks that a binary whose path now shows another file (inode differs: a bind mount over it
    /// inside the target's mount namespace) is still named from the mapped file.
    @Test func replacedBinary() throws {
        let f = try fixtures()
        let copy = "\(f.dir)/prog-replaced"
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: try #require(f.c["pie-fp"]), toPath: copy)
        let p = try LiveProcess("/usr/bin/unshare", arguments: ["-m", "--propagation", "private", copy])
        defer { p.stop() }
        // Inside the target's namespace only: the path now names the C++ fixture.
        try run(["nsenter", "-t", String(p.pid), "-m", "mount", "--bind", f.cpp, copy])
        var seen = stat(), mapped = stat()
        #expect(stat("/proc/\(p.pid)/root\(copy)", &seen) == 0 && stat(copy, &mapped) == 0)
        #expect(seen.st_ino != mapped.st_ino)  // the path in its namespace is another file now
        let entry = try Symbolizer().snapshotProcess(pid: p.pid).mapEntries.first { $0.path == copy }
        #expect(entry?.inode == UInt64(mapped.st_ino) && entry?.deleted == false)
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        #expect(syms.symbolize(try p.value("alpha")).name == "fixture_alpha")
        #expect(syms.symbolize(try p.value("beta")).name == "fixture_static_beta")
    }

    /// Checks that a binary visible only in the target's own mount namespace is read through
    /// /proc/PID/root.
    @Test func otherMountNamespace() throws {
        let f = try fixtures()
        let mnt = "\(f.dir)/mnt-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let src = try #require(f.c["lib"])
        let script = "mount -t tmpfs none \(mnt) && cp \(src) \(mnt)/prog-ns && exec \(mnt)/prog-ns"
        let p = try LiveProcess("/usr/bin/unshare", arguments: ["-m", "--propagation", "private", "sh", "-c", script])
        defer { p.stop() }
        #expect(!FileManager.default.fileExists(atPath: "\(mnt)/prog-ns"))  // not in our namespace
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        #expect(syms.problems.isEmpty, "\(syms.problems)")
        let alpha = syms.symbolize(try p.value("alpha"))
        #expect(alpha.name == "fixture_alpha")
        #expect(alpha.module == "prog-ns")
        #expect(syms.symbolize(try p.value("lib_public")).name == "fixture_lib_public")
    }

    /// Checks that a snapshot keeps naming addresses after its process has exited.
    @Test func processExitsAfterSnapshot() throws {
        let f = try fixtures()
        let p = try LiveProcess(try #require(f.c["lib"]))
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        let alpha = try p.value("alpha"), lib = try p.value("lib_public"), libc = try p.value("libc")
        let pid = p.pid
        p.stop()
        #expect(kill(pid, 0) != 0)  // gone
        #expect(syms.symbolize(alpha).name == "fixture_alpha")
        #expect(syms.symbolize(lib).name == "fixture_lib_public")
        #expect(syms.symbolize(libc).name == "pthread_mutex_lock")
        #expect(throws: SymbolizerError.processNotFound(pid: pid)) { try Symbolizer().snapshotProcess(pid: pid) }
    }

    /// Checks that JIT code in an anonymous mapping is named from /tmp/perf-PID.map.
    @Test func perfMapJIT() throws {
        let f = try fixtures()
        let p = try LiveProcess(try #require(f.c["pie-fp"]))
        defer { p.stop() }
        let jit = try p.value("jit")
        let mapPath = "/tmp/perf-\(p.pid).map"
        let text = "\(String(jit, radix: 16)) 40 jit_compiled_thing\n\(String(jit + 0x40, radix: 16)) 20 LazyCompile:*other js\n"
        try text.write(toFile: mapPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: mapPath) }
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        let a = syms.symbolize(jit + 0x10)
        #expect(a.name == "jit_compiled_thing" && a.module == "[jit]" && a.offset == 0x10 && a.resolved)
        #expect(syms.symbolize(jit + 0x41).name == "LazyCompile:*other js")
        let b = syms.symbolize(jit + 0x100)
        #expect(!b.resolved && b.name == "[anon]+0x\(String(jit + 0x100, radix: 16))")
    }

    /// Checks that addresses inside the [vdso] mapping are named from the vdso image.
    @Test func vdso() throws {
        let f = try fixtures()
        let p = try LiveProcess(try #require(f.c["pie-fp"]))
        defer { p.stop() }
        let base = try p.value("vdso")
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        let entry = try #require(syms.mapEntries.first { $0.path == "[vdso]" })
        #expect(entry.start == base)
        var names = Set<String>()
        var a = entry.start
        while a < entry.end {
            let fr = syms.symbolize(a)
            #expect(fr.module == "[vdso]")
            if fr.resolved { names.insert(fr.name) }
            a += 8
        }
        #expect(names.contains { $0.contains("clock_gettime") }, "\(names)")
        #expect(syms.modules.contains { $0.path == "[vdso]" && $0.symbols > 0 })
    }

    /// Checks that unmapped addresses print as `[unknown]+0xADDR` and are never dropped.
    @Test func unknownAddresses() throws {
        let f = try fixtures()
        let p = try LiveProcess(try #require(f.c["pie-fp"]))
        defer { p.stop() }
        let syms = try Symbolizer().snapshotProcess(pid: p.pid)
        let frames = syms.symbolize([try p.value("alpha"), 0x10, 0xdead_0000_0000])
        #expect(frames.count == 3)
        #expect(frames[0].name == "fixture_alpha")
        #expect(frames[1] == Frame(name: "[unknown]+0x10", module: nil, offset: 0x10, isKernel: false, resolved: false))
        #expect(frames[2].name == "[unknown]+0xdead00000000")
    }

    /// Checks that parsed ELF files are shared between snapshots through the caches.
    @Test func modulesAreCached() throws {
        let f = try fixtures()
        let p1 = try LiveProcess(try #require(f.c["pie-fp"]))
        defer { p1.stop() }
        let p2 = try LiveProcess(try #require(f.c["pie-fp"]))
        defer { p2.stop() }
        let s = Symbolizer()
        let a = try s.snapshotProcess(pid: p1.pid)
        let count = s.cachedModuleCount
        let b = try s.snapshotProcess(pid: p2.pid)
        #expect(s.cachedModuleCount == count)
        #expect(count >= 3)  // the program, libc, ld.so (+ vdso)
        let modA = a.mappings.compactMap(\.module).map(ObjectIdentifier.init)
        let modB = b.mappings.compactMap(\.module).map(ObjectIdentifier.init)
        #expect(Set(modA) == Set(modB))
    }
}
