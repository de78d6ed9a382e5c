import Foundation
import Testing
import SwoffcpuCore
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

private let topKeys = ["schema_version", "window_ns", "window_start_ns", "window_end_ns", "processes", "lost"]
private let processKeys = ["pid", "comm", "exited", "on_cpu_ns", "runnable_ns", "sleep_ns",
                           "sleep_uninterruptible_ns", "blocked_ns", "stolen_ns", "interrupt_ns", "threads"]
private let threadKeys = ["tid", "comm", "window_ns", "start_ns", "end_ns", "on_cpu_ns", "runnable_ns",
                          "sleep_ns", "sleep_uninterruptible_ns", "blocked_ns", "stolen_ns", "interrupt_ns", "switches", "wakeups",
                          "seeded", "born", "exited"]
private let lostKeys = ["untraced_threads", "exit_records_dropped", "exit_records_dropped_ns", "switches_recovered"]

private func parse(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any])
}

private func u64(_ value: Any?) throws -> UInt64 {
    try #require(value as? NSNumber).uint64Value
}

@Suite("ReportJSON")
struct ReportJSONTests {
    /// Checks that the JSON parses back with every documented field, and that the numbers add up:
    /// on_cpu + runnable + sleep + blocked == window_ns per thread (sleep including the D part),
    /// window_ns == end_ns - start_ns, and process totals equal the sums of their threads.
    @Test(arguments: [true, false])
    func parsesBackWithFieldsAndSums(pretty: Bool) throws {
        var report = ReportFixtures.sample
        report.lost = LostCounts(untracedThreads: 1, exitRecordsDropped: 2, exitRecordsDroppedNs: 3, switchesRecovered: 4)
        let doc = try parse(ReportJSON(report: report).render(pretty: pretty))
        #expect(Set(doc.keys) == Set(topKeys))
        #expect(try u64(doc["schema_version"]) == 2)
        #expect(try u64(doc["window_ns"]) == ReportFixtures.window)
        #expect(try u64(doc["window_end_ns"]) - u64(doc["window_start_ns"]) == ReportFixtures.window)
        let lost = try #require(doc["lost"] as? [String: Any])
        #expect(Set(lost.keys) == Set(lostKeys))
        #expect(try lostKeys.map { try u64(lost[$0]) } == [1, 2, 3, 4])

        let processes = try #require(doc["processes"] as? [[String: Any]])
        #expect(processes.count == 2)
        #expect(processes.map { $0["pid"] as? Int } == [4242, 99])
        #expect(processes.map { $0["exited"] as? Bool } == [false, true])
        var threadCount = 0
        for process in processes {
            #expect(Set(process.keys) == Set(processKeys))
            let threads = try #require(process["threads"] as? [[String: Any]])
            var sums = [String: UInt64]()
            for thread in threads {
                threadCount += 1
                #expect(Set(thread.keys) == Set(threadKeys))
                let window = try u64(thread["window_ns"])
                #expect(try u64(thread["end_ns"]) - u64(thread["start_ns"]) == window)
                let states = try ["on_cpu_ns", "runnable_ns", "sleep_ns", "blocked_ns"].map { try u64(thread[$0]) }
                #expect(states.reduce(0, +) == window)
                #expect(try u64(thread["sleep_uninterruptible_ns"]) <= u64(thread["sleep_ns"]))
                for key in ["on_cpu_ns", "runnable_ns", "sleep_ns", "sleep_uninterruptible_ns", "blocked_ns"] {
                    sums[key, default: 0] += try u64(thread[key])
                }
            }
            for (key, sum) in sums { #expect(try u64(process[key]) == sum, "\(key)") }
        }
        #expect(threadCount == 5)

        let short = try #require((processes[0]["threads"] as? [[String: Any]])?.first { $0["tid"] as? Int == 4250 })
        #expect(short["comm"] as? String == "short-lived")
        #expect(short["born"] as? Bool == true && short["exited"] as? Bool == true && short["seeded"] as? Bool == false)
        #expect(try u64(short["switches"]) == 4 && u64(short["wakeups"]) == 4)
        #expect(try u64(short["sleep_ns"]) == 1_000_000)
    }

    /// Checks that keys come in the documented order and the output is byte-for-byte stable.
    @Test func keyOrderIsDeterministic() throws {
        let json = ReportJSON(report: ReportFixtures.sample)
        let compact = json.render(pretty: false)
        #expect(compact == json.render(pretty: false))
        #expect(compact.hasPrefix(#"{"schema_version":2,"window_ns":5000000000,"window_start_ns":1000000000000,"window_end_ns":1005000000000,"processes":[{"pid":4242,"comm":"server","exited":false,"on_cpu_ns":"#))
        #expect(compact.hasSuffix(#""lost":{"untraced_threads":0,"exit_records_dropped":0,"exit_records_dropped_ns":0,"switches_recovered":0}}"# + "\n"))
        #expect(!compact.dropLast().contains("\n"))
        #expect(json.document().keys == topKeys)
        let thread = json.threadObject(ReportFixtures.sample.processes[0].threads[0])
        #expect(thread.keys == threadKeys)
        #expect(json.processObject(ReportFixtures.sample.processes[0]).keys == processKeys)
        #expect(ReportJSON.lostObject(LostCounts()).keys == lostKeys)
    }

    /// Checks that comms with quotes, backslashes, control characters and non-ASCII text survive
    /// the round trip.
    @Test func stringsAreEscaped() throws {
        let comm = "a\"b\\c\n\t\u{1}\u{1F}é数🧵/"
        var report = ReportFixtures.sample
        report.processes[0].comm = comm
        report.processes[0].threads[0].comm = comm
        let text = ReportJSON(report: report).render(pretty: false)
        #expect(text.contains(#""comm":"a\"b\\c\n\t\u0001\u001fé数🧵/""#))
        let doc = try parse(text)
        let process = try #require((doc["processes"] as? [[String: Any]])?.first)
        #expect(process["comm"] as? String == comm)
        #expect((process["threads"] as? [[String: Any]])?.first?["comm"] as? String == comm)
    }

    /// Checks that large 64-bit values are written exactly (no floating point).
    @Test func largeIntegersExact() throws {
        let start: UInt64 = (1 << 62) + 1
        let report = TraceReport(windowStartNs: start, windowEndNs: start + 7, processes: [],
                                 lost: LostCounts(exitRecordsDroppedNs: .max))
        let text = ReportJSON(report: report).render(pretty: false)
        #expect(text.contains(#""window_start_ns":4611686018427387905"#))
        #expect(text.contains(#""exit_records_dropped_ns":18446744073709551615"#))
        let doc = try parse(text)
        #expect(try u64(doc["window_start_ns"]) == start)
        #expect(doc["processes"] as? [Any] != nil)
    }

    /// Checks that later sections can be added: top-level members after "lost", and members per
    /// process and per thread after the version-1 keys.
    @Test func extensible() throws {
        var json = ReportJSON(report: ReportFixtures.sample)
        json.extraMembers["stacks"] = .array([.object(["id": .int(1), "frames": .array([.string("main")])])])
        json.extraMembers["locks"] = .array([])
        json.threadMembers = { thread in ["stack_ids": .array([.uint(UInt64(thread.tid))])] }
        json.processMembers = { _ in ["note": .null] }
        #expect(json.document().keys == topKeys + ["stacks", "locks"])
        let doc = try parse(json.render())
        #expect((doc["stacks"] as? [[String: Any]])?.first?["id"] as? Int == 1)
        #expect((doc["locks"] as? [Any])?.isEmpty == true)
        let process = try #require((doc["processes"] as? [[String: Any]])?.first)
        #expect(process["note"] is NSNull)
        let thread = try #require((process["threads"] as? [[String: Any]])?.first)
        #expect(thread["stack_ids"] as? [Int] == [4243])
        #expect(json.threadObject(ReportFixtures.sample.processes[0].threads[0]).keys == threadKeys + ["stack_ids"])
    }

    /// Checks the JSON value writer on its own: empty containers, nesting, literals, and that
    /// setting a key twice replaces it in place.
    @Test func jsonValueWriter() {
        var object: JSONObject = ["a": .int(-1), "b": .bool(true)]
        object["a"] = .string("x")
        object["c"] = .array([])
        object["d"] = .object(JSONObject())
        object["b"] = nil
        #expect(JSONValue.object(object).serialized() == #"{"a":"x","c":[],"d":{}}"#)
        #expect(JSONValue.array([.null, .uint(.max), .int(.min)]).serialized(pretty: true)
                == "[\n  null,\n  18446744073709551615,\n  -9223372036854775808\n]")
    }
}
