import Testing
@testable import SwoffcpuCore
import SwoffcpuTestSupport

@Suite struct StackDataTests {
    /// Checks that runs kept in blocks come back by id, and that a later block's run replaces
    /// an earlier one's.
    @Test func wordRunsByID() {
        var runs = WordRuns()
        runs.appendBlock([1, 2, 3, 4, 5], runs: [(10, 2), (11, 0), (12, 3)])
        runs.appendBlock([7, 8], runs: [(13, 1), (10, 1)])
        #expect(runs[10].map(Array.init) == [8])
        #expect(runs[11].map(Array.init) == [])
        #expect(runs[12].map(Array.init) == [3, 4, 5])
        #expect(runs[13].map(Array.init) == [7])
        #expect(runs[14] == nil)
        #expect(runs.count == 4 && runs.wordCount == 7)
        #expect(WordRuns([5: [1, 2]])[5].map(Array.init) == [1, 2])
        // The same runs in place and copied.
        for id: UInt64 in 10...14 {
            #expect(runs.array(id) == runs[id].map(Array.init))
            #expect(runs.withRun(id) { Array($0) } == runs[id].map(Array.init))
        }
    }

    /// Checks that a leaf context kept as words gives back its registers and exactly its
    /// stack bytes, whatever their number.
    @Test(arguments: [0, 1, 7, 8, 9, 512])
    func leafWordsRoundTrip(bytes: Int) {
        let leaf = StackData.UserLeaf(ip: 0x401000, sp: 0x7ffd_0000, bp: 0x7ffd_0040,
                                      stack: (0..<bytes).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) })
        var data = StackData()
        data.userLeafWords.appendBlock(leaf.words, runs: [(42, leaf.words.count)])
        #expect(data.userLeaf(42) == leaf)
        #expect(data.userLeafStackPointer(42) == leaf.sp)
        #expect(data.userLeaf(43) == nil)
    }
}
