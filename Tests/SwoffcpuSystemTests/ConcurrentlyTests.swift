import Foundation
import Testing
@testable import SwoffcpuSystem

@Suite struct ConcurrentlyTests {
    /// Checks that `map` computes every index once, on the threads asked for, and returns the
    /// results in index order whatever the split (fewer items than threads, an index or a run
    /// of them at a time, uneven chunks, none).
    @Test(arguments: [(0, 2, 1), (1, 2, 1), (7, 2, 1), (7, 2, 4), (10_000, 2, 5_000), (10_001, 3, 3_334), (5, 8, 1), (5, 2, 0)])
    func mapKeepsIndexOrder(count: Int, threads: Int, chunk: Int) {
        let seen = Seen()
        let out = Concurrently.map(count, threads: threads, chunk: chunk) { i -> String in
            seen.add(Thread.current)
            return "item \(i)"
        }
        #expect(out == (0..<count).map { "item \($0)" })
        #expect(seen.threads <= max(1, min(threads, count)))
    }

    /// Checks that `pipeline` computes every index once on its worker threads and hands each
    /// result to the consumer, on the calling thread, in index order, whatever the split.
    @Test(arguments: [(0, 2, 1), (1, 2, 1024), (7, 2, 1), (7, 2, 3), (10_000, 2, 1_024), (10_001, 3, 100), (5, 8, 1)])
    func pipelineConsumesInOrder(count: Int, threads: Int, chunk: Int) {
        let caller = Thread.current
        var consumed: [Int] = [], onCaller = true
        Concurrently.pipeline(count, threads: threads, chunk: chunk, { i in i * 3 }, consume: { i, v in
            #expect(v == i * 3)
            consumed.append(i)
            onCaller = onCaller && Thread.current == caller
        })
        #expect(consumed == Array(0..<count))
        #expect(onCaller)
    }

    private final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var set = Set<ObjectIdentifier>()
        func add(_ t: Thread) { lock.withLock { _ = set.insert(ObjectIdentifier(t)) } }
        var threads: Int { lock.withLock { set.count } }
    }
}
