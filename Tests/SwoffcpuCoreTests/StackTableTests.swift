import Testing
@testable import SwoffcpuCore
import SwoffcpuTestSupport

@Suite struct StackTableTests {
    /// Checks that equal frame sequences get one id and different ones different ids, through
    /// the index's growth, that each id gives its frames back, and that id 0 is the empty stack.
    @Test func oneIDPerDistinctStack() {
        var rng = TestRNG(seed: 11)
        var table = StackTable()
        #expect(table.add([]) == StackTable.empty && table.frames(StackTable.empty).isEmpty)
        let stacks = (0..<5_000).map { _ in
            (0..<Int.random(in: 0...6, using: &rng)).map { _ in Int32.random(in: 0..<4, using: &rng) }
        }
        let ids = stacks.map { table.add($0) }
        for (stack, id) in zip(stacks, ids) {
            #expect(Array(table.frames(id)) == stack)
            #expect(table.add(Array(table.frames(id))) == id)
        }
        #expect(table.count == Set(stacks).count + (stacks.contains([]) ? 0 : 1))
        #expect(table.add(names: ["a", "b"]) == table.add(names: ["a", "b"]))
        #expect(table.names(table.add(names: ["b", "a"])) == ["b", "a"])
    }
}
