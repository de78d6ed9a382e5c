import Foundation
import Glibc
import Testing
@testable import SwoffcpuSymbolizer

@Suite struct PerformanceTests {
    /// Checks that 10,000 stacks of 20 frames over this test process (libswiftCore, Foundation,
    /// libc…) symbolize, and prints how long it took. Not timed-asserted: the figure is for humans.
    @Test func tenThousandStacks() throws {
        let clock = ContinuousClock()
        let s = Symbolizer()
        var snapshot: ProcessSymbols!
        let snapTime = try clock.measure { snapshot = try s.snapshotProcess(pid: getpid()) }
        let syms = snapshot!

        // Candidate frame addresses: inside functions of the executable mappings' modules.
        var rng = SplitMix64(seed: 7)
        var functionAddresses: [UInt64] = []
        for m in syms.mappings where m.entry.executable {
            guard let mod = m.module, mod.symbols.count > 0 else { continue }
            for _ in 0..<2000 {
                let i = Int(rng.next() % UInt64(mod.symbols.count))
                let start = mod.symbols.starts[i]
                let size = mod.symbols.ends[i] &- start
                let vaddr = start &+ (size > 1 ? rng.next() % size : 0)
                // vaddr -> file offset -> address in this mapping.
                guard let load = mod.loads.first(where: { vaddr >= $0.vaddr && vaddr - $0.vaddr < $0.filesz }) else { continue }
                let off = vaddr - load.vaddr + load.offset
                guard off >= m.entry.offset, off - m.entry.offset < m.entry.end - m.entry.start else { continue }
                functionAddresses.append(m.entry.start + (off - m.entry.offset))
            }
        }
        #expect(functionAddresses.count > 1000)

        // Realistic: stacks drawn from a pool of 5,000 frame addresses. Worst case: every frame distinct.
        let pool = Array(functionAddresses.shuffled(using: &rng).prefix(5000))
        let realistic = (0..<10_000).map { _ in (0..<20).map { _ in pool[Int(rng.next() % UInt64(pool.count))] } }
        let distinct = (0..<10_000).map { _ in
            (0..<20).map { _ in functionAddresses[Int(rng.next() % UInt64(functionAddresses.count))] &+ (rng.next() % 4) }
        }

        var resolved = 0
        let t1 = clock.measure {
            for st in realistic { resolved += syms.symbolize(st).filter(\.resolved).count }
        }
        let fresh = try Symbolizer().snapshotProcess(pid: getpid())
        let t2 = clock.measure {
            for st in distinct { _ = fresh.symbolize(st) }
        }
        let t3 = clock.measure {
            for st in realistic { _ = syms.symbolize(st) }
        }
        #expect(resolved > 10_000 * 20 / 2)
        let modules = syms.modules.map { "\(basename($0.path)):\($0.symbols)" }.joined(separator: " ")
        print("""
        [symbolizer perf] snapshot of the test process: \(snapTime) (\(modules))
        [symbolizer perf] 10,000 stacks x 20 frames, pool of 5,000 addresses, cold caches: \(t1)
        [symbolizer perf] 10,000 stacks x 20 frames, all frames random (~200,000 distinct), cold caches: \(t2)
        [symbolizer perf] 10,000 stacks x 20 frames, pool of 5,000 addresses, warm caches: \(t3)
        """)
    }
}
