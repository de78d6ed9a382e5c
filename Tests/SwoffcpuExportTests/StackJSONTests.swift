import Foundation
import SwoffcpuCore
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

@Suite struct StackJSONTests {
    private func sample(_ state: ThreadState, tid: Int32, user: [String], kernel: [String], ns: UInt64) -> StackSample {
        StackSample(state: state, comm: "w\"\(tid)", tid: tid, userFrames: user, kernelFrames: kernel, valueNs: ns)
    }

    /// Checks that the stack members parse back after `lost`, in their documented order, and that
    /// each entry's `user_stack` / `kernel_stack`, looked up in `stack_table` and `stack_frames`,
    /// gives its frames: every sample once, most time first, each name and each stack once.
    @Test(arguments: [true, false])
    func entriesReferToTheTable(pretty: Bool) throws {
        let samples = [
            sample(.blocked, tid: 1, user: ["pthread_mutex_lock", "work", "main"], kernel: ["futex_wait", "do_syscall_64"], ns: 700),
            sample(.blocked, tid: 2, user: ["pthread_mutex_lock", "work", "main"], kernel: ["futex_wait", "do_syscall_64"], ns: 900),
            sample(.sleep, tid: 1, user: ["[not sampled]"], kernel: [], ns: 900),
            sample(.runnable, tid: 3, user: ["a;b\n", "main"], kernel: ["schedule"], ns: 5),
            sample(.sleepUninterruptible, tid: 2, user: [], kernel: [], ns: 1),
        ]
        let stacks = SymbolizedStacks(samples)
        let data = StackData(switchOuts: 10, walks: 4, walkOneIn: 64, walkPeriodNs: 10_000_000)
        let json = ReportJSON(report: ReportFixtures.sample, extraMembers: StackJSON.members(stacks, sampling: data))
        let text = json.render(pretty: pretty)
        #expect(json.document().keys.suffix(4) == ["stack_frames", "stack_table", "stacks", "stack_sampling"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])

        let names = try #require(doc["stack_frames"] as? [String])
        let table = try #require(doc["stack_table"] as? [[Int]])
        #expect(Set(names).count == names.count && Set(table).count == table.count)
        #expect(table.first == [])
        func frames(_ id: Any?) throws -> [String] {
            try #require(table[try #require(id as? Int)]).map { names[$0] }
        }
        let entries = try #require(doc["stacks"] as? [[String: Any]])
        #expect(entries.map { Set($0.keys) } == Array(repeating: ["tid", "comm", "state", "ns", "user_stack", "kernel_stack"],
                                                        count: samples.count))
        let parsed = try entries.map { entry in
            StackSample(state: try #require(ThreadState.allCases.first { $0.name == entry["state"] as? String }),
                        comm: try #require(entry["comm"] as? String), tid: try #require(entry["tid"] as? Int32),
                        userFrames: try frames(entry["user_stack"]), kernelFrames: try frames(entry["kernel_stack"]),
                        valueNs: try #require(entry["ns"] as? UInt64))
        }
        #expect(parsed == samples.sorted { $0.valueNs != $1.valueNs ? $0.valueNs > $1.valueNs : $0.tid < $1.tid })

        let sampling = try #require(doc["stack_sampling"] as? [String: Any])
        #expect(sampling["sampled"] as? Bool == true && sampling["walk_one_in"] as? Int == 64)
        #expect(sampling["walks"] as? Int == 4 && sampling["switch_outs"] as? Int == 10)
        #expect(text.hasSuffix("}\n") && !text.hasSuffix("\n\n"))
    }

    /// Checks that sections longer than a piece (the table and the entries are written 8,192
    /// at a time) come out whole: every entry, in order, each resolving to its frames.
    @Test func manyPieces() throws {
        let samples = StackExportReferenceTests.samples(seed: 5, count: 20_000)
        let stacks = SymbolizedStacks(samples)
        #expect(stacks.table.count > StackJSON.piece)
        let json = ReportJSON(report: ReportFixtures.sample,
                              extraMembers: StackJSON.members(stacks, sampling: StackData()))
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.render().utf8)) as? [String: Any])
        let names = try #require(doc["stack_frames"] as? [String])
        let table = try #require(doc["stack_table"] as? [[Int]])
        let entries = try #require(doc["stacks"] as? [[String: Any]])
        #expect(table.count == stacks.table.count && entries.count == samples.count)
        let ns = entries.compactMap { $0["ns"] as? UInt64 }
        #expect(ns == ns.sorted(by: >))
        let user = Set(entries.map { table[$0["user_stack"] as! Int].map { names[$0] } })
        #expect(user == Set(samples.map(\.userFrames)))
    }
}
