import Foundation
import Glibc
import Testing
@testable import SwoffcpuSymbolizer

@Suite struct KernelSymbolTests {
    /// Checks that a real kernel text symbol read from /proc/kallsyms is named, at and inside its start.
    @Test func realKallsyms() throws {
        let text = String(decoding: try readWholeFile("/proc/kallsyms"), as: UTF8.self)
        var lines: [(UInt64, Character, String)] = []
        for line in text.split(separator: "\n") {
            let p = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard p.count >= 3, p.count == 3, let a = UInt64(p[0], radix: 16), a != 0 else { continue }
            lines.append((a, p[1].first!, String(p[2])))
        }
        #expect(lines.count > 1000)
        let sorted = lines.sorted { $0.0 < $1.0 }
        // A core-kernel T symbol alone at its address, with a gap after it.
        let preferred = ["schedule", "do_nanosleep", "futex_wait", "vfs_read"]
        var pick: (UInt64, String)? = nil
        for name in preferred {
            guard let i = sorted.firstIndex(where: { $0.2 == name && ($0.1 == "T" || $0.1 == "t") }) else { continue }
            let a = sorted[i].0
            let alone = (i == 0 || sorted[i - 1].0 != a) && (i + 1 < sorted.count && sorted[i + 1].0 > a + 1)
            if alone { pick = (a, name); break }
        }
        let (addr, name) = try #require(pick)
        let k = try Symbolizer().kernel()
        let f = k.symbolize(addr)
        #expect(f.name == name && f.module == "[kernel.kallsyms]" && f.isKernel && f.resolved && f.offset == 0 && !f.isBPF)
        let g = k.symbolize(addr + 1)
        #expect(g.name == name && g.offset == 1)
        // As a return address (not the leaf) the lookup uses address-1.
        let stack = k.symbolize([addr + 1, addr + 1])
        #expect(stack.map(\.name) == [name, name])
    }

    /// Checks kallsyms parsing: module names in brackets, BPF frames marked and dropped, unknown addresses.
    @Test func syntheticKallsyms() throws {
        let text = """
        ffffffff81000000 T _stext
        ffffffff81000000 T _text
        ffffffff81001000 T schedule
        ffffffff81001800 t __schedule
        ffffffff81002000 D some_data
        ffffffff81003000 T _etext
        ffffffffc0001000 t ext4_file_write_iter\t[ext4]
        ffffffffc0001400 T ext4_sync_file\t[ext4]
        ffffffffc0201000 t bpf_prog_6deef7357e7b4530_handle_switch\t[bpf]
        ffffffffc0202000 t bpf_trampoline_6442491234\t[bpf]

        garbage line
        """
        let k = try KernelSymbols(kallsyms: Array(text.utf8))
        #expect(k.symbolize(0xffff_ffff_8100_0010).name == "_text")
        #expect(k.symbolize(0xffff_ffff_8100_1010).name == "schedule")
        #expect(k.symbolize(0xffff_ffff_8100_1810).name == "__schedule")
        // Data symbols are not kept: the text symbol before extends over it.
        #expect(k.symbolize(0xffff_ffff_8100_2010).name == "__schedule")
        let e = k.symbolize(0xffff_ffff_c000_1404)
        #expect(e.name == "ext4_sync_file" && e.module == "[ext4]" && e.offset == 4 && !e.isBPF)
        let b = k.symbolize(0xffff_ffff_c020_1010)
        #expect(b.isBPF && b.module == "[bpf]" && b.name == "bpf_prog_6deef7357e7b4530_handle_switch")
        #expect(k.symbolize(0xffff_ffff_c020_2010).isBPF)
        let u = k.symbolize(0x1000)
        #expect(!u.resolved && u.name == "[unknown]+0x1000" && u.isKernel)
        // Far past the last symbol of a module: unknown.
        #expect(!k.symbolize(0xffff_ffff_c100_0000).resolved)

        let stack: [UInt64] = [0xffff_ffff_c020_1010, 0xffff_ffff_c020_2010, 0xffff_ffff_8100_1810, 0xffff_ffff_8100_1010]
        #expect(k.symbolize(stack).map(\.name) == ["__schedule", "schedule"])
        var keep = SymbolizerOptions()
        keep.dropBPFFrames = false
        let k2 = try KernelSymbols(kallsyms: Array(text.utf8), options: keep)
        #expect(k2.symbolize(stack).count == 4)
    }

    /// Checks that a kallsyms with only zero addresses (kptr_restrict) is reported as such.
    @Test func hiddenKallsyms() {
        let text = "0000000000000000 T _stext\n0000000000000000 T schedule\n"
        #expect(throws: SymbolizerError.kernelAddressesHidden) { try KernelSymbols(kallsyms: Array(text.utf8)) }
    }
}

@Suite struct ParserTests {
    /// Checks that /proc/PID/maps lines parse: deleted suffix, spaces in paths, pseudo mappings.
    @Test func mapsLines() {
        let text = """
        55ca62c40000-55ca62c45000 r-xp 00002000 fe:00 253911                     /usr/bin/cat
        7fe223a33000-7fe223b89000 r-xp 00026000 fe:01 333151                     /tmp/my dir/lib x.so (deleted)
        7fe223bfa000-7fe223bfe000 r--p 00000000 00:00 0                          [vvar]
        7ffd1000-7ffd3000 r-xp 00000000 00:00 0                          [vdso]
        7f0000000000-7f0000001000 rwxp 00000000 00:00 0 
        zzzz-1 r-xp
        """
        let e = ProcMaps.parse(Array(text.utf8))
        #expect(e.count == 5)
        #expect(e[0].start == 0x55ca_62c4_0000 && e[0].end == 0x55ca_62c4_5000 && e[0].offset == 0x2000)
        #expect(e[0].devMajor == 0xfe && e[0].devMinor == 0 && e[0].inode == 253911 && e[0].executable && e[0].isFileBacked)
        #expect(e[1].path == "/tmp/my dir/lib x.so" && e[1].deleted && e[1].devMinor == 1)
        #expect(e[2].path == "[vvar]" && !e[2].executable && !e[2].isFileBacked)
        #expect(e[4].path == "" && e[4].writable)
    }

    /// Checks that perf map lines parse with and without 0x, and names keep their spaces.
    @Test func perfMapLines() {
        let text = "1000 10 first one\n0x2000 0x20 second\nbad line\n3000 8 third\r\n"
        let t = PerfMap.parse(Array(text.utf8))
        #expect(t.count == 3)
        #expect(t.lookup(0x1005).map(t.name(at:)) == "first one")
        #expect(t.lookup(0x201f).map(t.name(at:)) == "second")
        #expect(t.lookup(0x2020) == nil)
        #expect(t.lookup(0x3000).map(t.name(at:)) == "third")
    }

    /// Checks symbol table lookups: nested symbols, zero-size symbols, alias preference.
    @Test func symbolTableLookup() {
        var b = SymbolTableBuilder()
        func add(_ s: UInt64, _ size: UInt64, _ name: String, rank: UInt8 = 6, secEnd: UInt64 = 0) {
            let n = Array(name.utf8)
            b.add(start: s, size: size, sectionEnd: secEnd, rank: rank, name: n, nameOffset: 0, nameLength: n.count)
        }
        add(0x1000, 0x100, "outer")
        add(0x1040, 0x10, "inner")
        add(0x2000, 0x10, "__alias")
        add(0x2000, 0x10, "alias")
        add(0x2000, 0x10, "local_alias", rank: 4)
        add(0x3000, 0, "label", secEnd: 0x3100)
        let t = b.build()
        #expect(t.lookup(0x1010).map(t.name(at:)) == "outer")
        #expect(t.lookup(0x1045).map(t.name(at:)) == "inner")
        #expect(t.lookup(0x1050).map(t.name(at:)) == "outer")
        #expect(t.lookup(0x1100) == nil)
        #expect(t.lookup(0x2008).map(t.name(at:)) == "alias")
        #expect(t.lookup(0x30ff).map(t.name(at:)) == "label")
        #expect(t.lookup(0x3100) == nil)
        #expect(t.lookup(0xfff) == nil)
    }
}

@Suite struct DemanglerTests {
    /// Checks C++ demangling through __cxa_demangle and the argument-dropping simplifier.
    @Test func cxx() {
        #expect(Demangler.hasCxxDemangler)
        #expect(Demangler.demangle("_ZN2ns5inner5twiceIiEET_S2_") == "int ns::inner::twice<int>(int)")
        #expect(Demangler.demangle("_ZNKSt6vectorIiSaIiEE4sizeEv", style: .noArguments) == "std::vector<int, std::allocator<int> >::size")
        #expect(Demangler.demangle("_ZN2nsplERKNS_1AES2_", style: .noArguments) == "ns::operator+")
        #expect(Demangler.demangle("_ZN3foo3barEv.cold", style: .noArguments) == "foo::bar [clone .cold]")
        #expect(Demangler.demangle("_Znotmangled") == "_Znotmangled")
        #expect(Demangler.demangle("pthread_mutex_lock") == "pthread_mutex_lock")
    }

    /// Checks Swift demangling through swift_demangle, and its simplified form.
    @Test func swift() {
        #expect(Demangler.hasSwiftDemangler)
        #expect(Demangler.demangle("$s4main3fooyyF") == "main.foo() -> ()")
        #expect(Demangler.demangle("$s4main3fooyyF", style: .noArguments) == "main.foo()")
        #expect(Demangler.demangle("$s4main1fySiSS_SbtF", style: .noArguments) == "main.f(_:_:)")
        #expect(Demangler.demangle("$sSi") == "Swift.Int")
        #expect(Demangler.demangle("$sSi9magnitudeSuvg") == "Swift.Int.magnitude.getter : Swift.UInt")
        #expect(Demangler.demangle("$sSi9magnitudeSuvg", style: .noArguments) == "Swift.Int.magnitude.getter")
        #expect(Demangler.demangle("$sgarbage!!") == "$sgarbage!!")
    }

    /// Checks the Swift simplifier on closures, accessors, conformances and generic contexts.
    @Test func swiftSimplifier() {
        #expect(NameSimplifier.swift("closure #1 (Swift.Int) -> () in SwiftFixture.main() -> ()") == "closure #1 in SwiftFixture.main()")
        #expect(NameSimplifier.swift("partial apply forwarder for closure #2 (Swift.UnsafeRawBufferPointer) throws -> Swift.UInt16 in M.A.u16(at: Swift.Int) -> Swift.Optional<Swift.UInt16>")
            == "partial apply forwarder for closure #2 in M.A.u16(at:)")
        #expect(NameSimplifier.swift("Swift._NativeDictionary.subscript.getter : (_: A, isUnique: Swift.Bool) -> Swift.Optional<B>")
            == "Swift._NativeDictionary.subscript.getter")
        #expect(NameSimplifier.swift("protocol witness table for Swift.Int128 : Swift.FixedWidthInteger in Swift")
            == "protocol witness table for Swift.Int128 : Swift.FixedWidthInteger in Swift")
        #expect(NameSimplifier.swift("Swift.Set.isSubset<A where A == A1.Element, A1: Swift.Sequence>(of: A1) -> Swift.Bool")
            == "Swift.Set.isSubset<A where A == A1.Element, A1: Swift.Sequence>(of:)")
        #expect(NameSimplifier.swift("M.f(_: Swift.Int, _: (Swift.Int) -> Swift.Int) async throws -> Swift.Int") == "M.f(_:_:)")
    }

    /// Checks Rust legacy demangling: escapes decoded, hash dropped.
    @Test func rustLegacy() {
        #expect(Demangler.demangle("_ZN4core3fmt9Formatter3pad17h0123456789abcdefE") == "core::fmt::Formatter::pad")
        #expect(Demangler.demangle("_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h1234567890abcdefE")
            == "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop")
        #expect(Demangler.demangle("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h0123456789abcdefE.llvm.42")
            == "std::rt::lang_start::{{closure}}")
    }

    /// Checks Rust v0 demangling of paths, impls, generics and closures; unknown input stays readable.
    @Test func rustV0() {
        #expect(Demangler.demangle("_RNvCs1234_7mycrate3foo") == "mycrate::foo")
        #expect(Demangler.demangle("_RNvNtCs1234_7mycrate3foo3bar") == "mycrate::foo::bar")
        #expect(Demangler.demangle("_RINvCs1234_7mycrate3foomE") == "mycrate::foo::<u32>")
        #expect(Demangler.demangle("_RNvMCs1234_7mycrateNtB2_3Foo3new") == "<mycrate::Foo>::new")
        #expect(Demangler.demangle("_RNCNvCs1234_7mycrate4main0") == "mycrate::main::{closure#0}")
        #expect(Demangler.demangle("_RNvXCs1234_7mycrateNtB2_3FooNtNtCs5678_4core3fmt5Debug3fmt")
            == "<mycrate::Foo as core::fmt::Debug>::fmt")
        #expect(Demangler.demangle("_RBogus") == "_RBogus")
    }
}

@Suite struct RobustnessTests {
    /// Checks that mutated and truncated ELF images never crash the parser (a small in-test fuzzer).
    @Test func malformedELFDoesNotCrash() throws {
        let f = try fixtures()
        let original = try readWholeFile(try #require(f.c["pie-fp"]))
        var rng = SplitMix64(seed: 0x5eed)
        var parsed = 0
        for round in 0..<1500 {
            var b = original
            switch round % 3 {
            case 0:
                for _ in 0..<8 { b[Int(rng.next() % 64)] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1:
                for _ in 0..<32 { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
                // Hit the section headers too.
                let shoff = Int(clamping: b.u64(at: 40) ?? 0)
                if shoff > 0, shoff < b.count - 64 {
                    for _ in 0..<16 { b[shoff + Int(rng.next() % UInt64(b.count - shoff))] = UInt8(truncatingIfNeeded: rng.next()) }
                }
            default:
                b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            }
            if let img = try? ELFImage(source: MemoryByteSource(bytes: b), path: "fuzz") {
                var builder = SymbolTableBuilder()
                img.appendSymbols(to: &builder)
                let t = builder.build()
                _ = t.lookup(rng.next())
                _ = img.loads.vaddr(forFileOffset: rng.next() % 0x10000)
                parsed += 1
            }
        }
        #expect(parsed > 0)
        #expect(throws: SymbolizerError.notELF(path: "x")) { try ELFImage(source: MemoryByteSource(bytes: [1, 2, 3]), path: "x") }
        #expect(throws: SymbolizerError.self) { try ELFImage(source: MemoryByteSource(bytes: Array(original.prefix(40))), path: "x") }
    }

    /// Checks that random garbage in maps, kallsyms and perf-map parsers and the demanglers never crashes.
    @Test func garbageTextDoesNotCrash() {
        var rng = SplitMix64(seed: 42)
        let alphabet = Array("0123456789abcdefxX-: []\t\n_RZN$sEIBCMXYvpuKL".utf8)
        for _ in 0..<2000 {
            let n = Int(rng.next() % 200)
            let b = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            _ = ProcMaps.parse(b)
            _ = PerfMap.parse(b)
            _ = try? KernelSymbols(kallsyms: b)
            let s = String(decoding: b, as: UTF8.self)
            _ = Demangler.demangle("_R" + s)
            _ = Demangler.demangle("_ZN" + s)
            _ = NameSimplifier.cxx(s)
            _ = NameSimplifier.swift(s)
        }
    }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
