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
        #expect(runs.array(10) == [8])
        #expect(runs.array(11) == [])
        #expect(runs.array(12) == [3, 4, 5])
        #expect(runs.array(13) == [7])
        #expect(runs.array(14) == nil)
        #expect(runs.withRun(12) { $0.reduce(0, +) } == 12)
        #expect(runs.withRun(14) { $0.count } == nil)
        #expect(runs.count == 4 && runs.wordCount == 7)
        #expect(WordRuns([5: [1, 2]]).array(5) == [1, 2])
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
