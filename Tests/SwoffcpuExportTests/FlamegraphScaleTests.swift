import Foundation
import SwoffcpuCore
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

@Suite struct FlamegraphScaleTests {
    /// Random stacks over a wide vocabulary, skewed (a few names are common, most are rare) so that
    /// stacks share prefixes like real ones and many frames still end up thinner than a pixel.
    private func randomStacks(count: Int, seed: UInt64) -> [(frames: [String], value: UInt64)] {
        var generator = TestRNG(seed: seed)
        let vocabulary = (0..<600).map { "module\($0 % 13)::function_\($0)(arg: Int)" }
        return (0..<count).map { _ in
            var frames = [ThreadState.allCases.randomElement(using: &generator)!.name,
                          "worker-\(Int.random(in: 1...40, using: &generator))"]
            for _ in 0..<Int.random(in: 3...28, using: &generator) {
                let u = Double.random(in: 0..<1, using: &generator)
                frames.append(vocabulary[Int(u * u * u * u * Double(vocabulary.count))])
            }
            if Bool.random(using: &generator) { frames += ["do_syscall_64_[k]", "schedule_[k]"] }
            return (frames, UInt64.random(in: 1...2_000_000, using: &generator))
        }
    }

    /// Checks that 10,000 random stacks give a small valid file whose thin frames are merged, and whose total is exact;
    /// with SWOFFCPU_FLAMEGRAPH_EXAMPLE_DIR set, also writes it there as random-10k.svg.
    @Test func tenThousandStacks() throws {
        let stacks = randomStacks(count: 10_000, seed: 2024)
        let document = FlamegraphWriter().document(stacks: stacks)
        let bytes = document.svg.utf8.count
        #expect(bytes < 3_000_000, "\(bytes) bytes")
        #expect(document.stats.stacks == 10_000)
        #expect(document.stats.mergedGroups > 0)
        #expect(document.stats.mergedFrames > document.stats.mergedGroups)
        #expect(document.stats.drawnFrames < document.stats.nodes / 5)
        let svg = ParsedFlamegraph(document.svg)
        #expect(svg.isValid, "\(String(describing: svg.error))")
        let sum = stacks.reduce(UInt64(0)) { $0 + $1.value }
        #expect(svg.rootAttributes["data-total"] == String(sum))
        #expect(svg.frames.first?.value == sum)
        #expect(svg.frames.count == document.stats.drawnFrames)
        #expect(svg.frames.filter { $0.merged != nil }.count == document.stats.mergedGroups)
        // Every frame drawn is at least the minimum width.
        let gw = Double(svg.rootAttributes["data-gw"]!)!
        for frame in svg.frames {
            #expect(Double(frame.value) / Double(sum) * gw >= 1)
        }
        if let directory = ProcessInfo.processInfo.environment["SWOFFCPU_FLAMEGRAPH_EXAMPLE_DIR"], !directory.isEmpty {
            try AtomicFile.write(document.svg, to: directory + "/random-10k.svg")
        }
    }

    /// Checks that a zero minimum width draws every frame and merges none.
    @Test func noMerging() {
        let stacks = randomStacks(count: 300, seed: 5)
        let document = FlamegraphWriter(options: .init(minFrameWidth: 0)).document(stacks: stacks)
        #expect(document.stats.mergedGroups == 0 && document.stats.hiddenFrames == 0)
        #expect(document.stats.drawnFrames == document.stats.nodes)
    }
}
