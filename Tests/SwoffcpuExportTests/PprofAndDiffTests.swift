import Foundation
@testable import SwoffcpuExport
import SwoffcpuCore
import SwoffcpuResolve
import SwoffcpuTestSupport
import Testing

/// The pprof profile (before gzip: its messages) and `swoffcpu diff`'s parts, on stacks written
/// by hand. The real reader (`go tool pprof`) is run on real traces by the integration tests.
@Suite struct PprofWriterTests {
    static func trace() -> ResolvedTrace {
        let report = TraceReport(windowStartNs: 1_000, windowEndNs: 2_000_001_000, processes: [
            ProcessReport(pid: 10, comm: "app", exited: false, threads: [
                ReportFixtures.thread(11, tgid: 10, comm: "worker", runnable: 5, sleep: 7, blocked: 30),
            ]),
        ], lost: LostCounts())
        var stacks = SymbolizedStacks([
            StackSample(state: .blocked, comm: "worker", tid: 11, userFrames: ["pthread_mutex_lock", "lock_inner", "main"],
                        kernelFrames: ["__schedule", "futex_wait"], valueNs: 20),
            StackSample(state: .blocked, comm: "worker", tid: 11, userFrames: ["pthread_cond_wait", "main"], valueNs: 10),
            StackSample(state: .sleep, comm: "worker", tid: 11, userFrames: ["read", "main"], valueNs: 4),
            StackSample(state: .sleepUninterruptible, comm: "worker", tid: 11, userFrames: ["fsync", "main"], valueNs: 3),
            StackSample(state: .runnable, comm: "worker", tid: 11, userFrames: ["main"], valueNs: 5),
            StackSample(state: .onCPU, comm: "worker", tid: 11, userFrames: ["lock_inner", "main"], valueNs: 9),
        ])
        // Addresses of the first user stack: main's in the executable, the others in libc.
        let user = stacks.samples[0].userStack
        let exe = StackSites.Mapping(start: 0x5500_0000, end: 0x5500_8000, fileOffset: 0x1000, path: "/usr/bin/app",
                                 buildID: "abcdef")
        let libc = StackSites.Mapping(start: 0x7f00_0000, end: 0x7f10_0000, fileOffset: 0, path: "/lib/libc.so.6",
                                  buildID: "0123")
        let l = stacks.sites.index(of: libc), e = stacks.sites.index(of: exe)
        stacks.sites.set(user, [.init(address: 0x7f00_1234, mapping: l), .init(address: 0x5500_0100, mapping: e),
                                .init(address: 0x5500_0200, mapping: e)])
        return ResolvedTrace(report: report, stacks: stacks)
    }

    /// Checks one sample type per state plus off_cpu (the default), each summing to its state's
    /// time; labels; the main binary's mapping first with its build-id; leaf-first locations.
    @Test func profileContents() throws {
        let profile = PprofWriter(options: .init(timeNanos: 42)).profile(Self.trace())
        let strings = profile.stringTable
        #expect(strings.first == "")
        let types = profile.sampleType.map { strings[Int($0.type)] }
        #expect(types == ["on_cpu", "runnable", "sleep", "blocked", "off_cpu"])
        #expect(profile.sampleType.allSatisfy { strings[Int($0.unit)] == "nanoseconds" })
        #expect(strings[Int(profile.defaultSampleType)] == "off_cpu")
        #expect(profile.timeNanos == 42 && profile.durationNanos == 2_000_000_000)
        var sums = [Int64](repeating: 0, count: 5)
        for s in profile.sample { for (i, v) in s.value.enumerated() { sums[i] += v } }
        #expect(sums == [9, 5, 7, 30, 42])
        let first = try #require(profile.sample.first)
        let labels = Dictionary(uniqueKeysWithValues: first.label.map { (strings[Int($0.key)], $0) })
        #expect(labels["thread_id"]?.num == 11 && labels["process_id"]?.num == 10)
        #expect(labels["thread_name"].map { strings[Int($0.str)] } == "worker")
        #expect(labels["state"].map { strings[Int($0.str)] } == "blocked")
        // Leaf first: the kernel's leaf, then up to main.
        let names = first.locationID.map { id -> String in
            let loc = profile.location[Int(id) - 1]
            return strings[Int(profile.function[Int(loc.line[0].functionID) - 1].name)]
        }
        #expect(names == ["__schedule", "futex_wait", "pthread_mutex_lock", "lock_inner", "main"])
        #expect(strings[Int(profile.mapping[0].filename)] == "/usr/bin/app", "the executable's mapping first")
        #expect(strings[Int(profile.mapping[0].buildID)] == "abcdef" && profile.mapping[0].fileOffset == 0x1000)
        let mainLoc = profile.location[Int(first.locationID[4]) - 1]
        #expect(mainLoc.address == 0x5500_0200 && mainLoc.mappingID == profile.mapping[0].id)
        #expect(profile.location.allSatisfy { $0.line.count == 1 })
    }

    /// Checks that the file is gzip (magic 1f 8b, deflate) and not empty.
    @Test func gzipped() throws {
        let bytes = try PprofWriter().data(Self.trace())
        #expect(bytes.count > 20 && bytes[0] == 0x1f && bytes[1] == 0x8b && bytes[2] == 8)
    }
}

@Suite struct StackDiffTests {
    static let before: [(frames: [String], ns: Double)] = [
        (["blocked", "main", "lock_a", "pthread_mutex_lock"], 100), (["sleep", "main", "read"], 50),
        (["runnable", "main"], 10),
    ]
    static let after: [(frames: [String], ns: Double)] = [
        (["blocked", "main", "lock_a", "pthread_mutex_lock"], 400), (["sleep", "main", "read"], 40),
        (["blocked", "main", "lock_b", "pthread_mutex_lock"], 5), (["runnable", "main"], 10),
    ]

    /// Checks that the stack that grew most leads the table, then the others by size of change.
    @Test func changedPathFirst() {
        let diff = StackDiff(before: Self.before, after: Self.after, normalize: false)
        let top = diff.mostChanged(3)
        #expect(top.map { $0.frames.last! + ":" + $0.frames[2] } == ["pthread_mutex_lock:lock_a", "read:read", "pthread_mutex_lock:lock_b"])
        #expect(top[0].delta == 300)
        let text = DiffTable(top: 3).render(diff, beforeName: "b", afterName: "a")
        let lines = text.split(separator: "\n")
        let i = lines.firstIndex { $0.hasPrefix("  #1 ") }!
        #expect(lines[i + 1] == "      blocked;main;lock_a;pthread_mutex_lock")
        #expect(diff.roots.first?.frames == ["blocked"] && diff.roots.first?.delta == 305)
    }

    /// Checks --normalize: before is scaled to after's total, so an unchanged share shows no change.
    @Test func normalized() {
        let diff = StackDiff(before: [(["a"], 10), (["b"], 30)], after: [(["a"], 20), (["b"], 60)], normalize: true)
        #expect(diff.lines.allSatisfy { abs($0.delta) < 1e-9 })
        #expect(diff.mostChanged(5).isEmpty)
    }

    /// Checks the differential flamegraph: width from after, red where a frame grew, blue where
    /// it shrank, white where unchanged; the legend says so; valid XML.
    @Test func flamegraphColours() throws {
        let svg = DiffFlamegraph().render(StackDiff(before: Self.before, after: Self.after, normalize: false))
        let parsed = ParsedFlamegraph(svg)
        #expect(parsed.isValid)
        #expect(parsed.rootAttributes["data-total"] == "455")
        func fill(_ name: String) -> String? { parsed.frames.first { parsed.name($0) == name }?.rect["fill"] }
        #expect(fill("blocked") == "rgb(255,0,0)", "the largest growth (+305) is deepest red")
        #expect(fill("lock_a") == "rgb(255,3,3)", "+300 of at most +305: nearly as red")
        #expect(fill("read")?.hasSuffix(",255)") == true && fill("read")?.hasPrefix("rgb(255") == false, "shrank: blue")
        #expect(fill("runnable") == "rgb(255,255,255)", "unchanged: white")
        #expect(parsed.legend.contains("red: grew") && parsed.legend.contains("blue: shrank"))
    }

    /// Checks reading a JSON report's stacks as folded lines (state, user root first, kernel _[k]).
    @Test func readsJSONReports() throws {
        let json = #"{"stack_frames":["__schedule","pthread_mutex_lock","main"],"stack_table":[[],[1,2],[0]],"#
            + #""stacks":[{"tid":1,"comm":"a","state":"blocked","ns":7,"user_stack":1,"kernel_stack":2}]}"#
        let path = NSTemporaryDirectory() + "/swoffcpu-diff-json-\(getpid()).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let read = try DiffInput.read(path: path, unit: .microseconds)
        #expect(read.count == 1 && read[0].frames == ["blocked", "main", "pthread_mutex_lock", "__schedule_[k]"] && read[0].ns == 7)
    }
}

/// The new views at scale: the differential flamegraph of 10,000 random stacks a side stays a
/// small, valid, self-contained file; the pprof profile of 100,000 samples is written.
@Suite struct DiffScaleTests {
    static func randomStacks(_ count: Int, seed: UInt64) -> [(frames: [String], ns: Double)] {
        var generator = TestRNG(seed: seed)
        let vocabulary = (0..<600).map { "module\($0 % 13)::function_\($0)(arg: Int)" }
        return (0..<count).map { _ in
            var frames = [ThreadState.allCases.randomElement(using: &generator)!.name]
            for _ in 0..<Int.random(in: 3...28, using: &generator) {
                let u = Double.random(in: 0..<1, using: &generator)
                frames.append(vocabulary[Int(u * u * u * u * Double(vocabulary.count))])
            }
            return (frames, Double(UInt64.random(in: 1...2_000_000, using: &generator)) * 1000)
        }
    }

    /// Checks a 10,000-stack diff: valid XML, no external reference, under 3 MB, thin frames
    /// merged, the root as wide as the after total.
    @Test func tenThousandStacksDiff() {
        let before = Self.randomStacks(10_000, seed: 7), after = Self.randomStacks(10_000, seed: 8)
        let diff = StackDiff(before: before, after: after, normalize: false)
        let svg = DiffFlamegraph().render(diff)
        #expect(svg.utf8.count < 3_000_000, "\(svg.utf8.count) bytes")
        #expect(!svg.contains("href=") && !svg.contains("http://www.w3.org/1999/xlink"), "self-contained")
        let parsed = ParsedFlamegraph(svg)
        #expect(parsed.isValid)
        let total = after.reduce(0.0) { $0 + $1.ns }
        #expect(parsed.rootAttributes["data-total"].flatMap(Double.init).map { abs($0 - total) <= 10_000 } == true)
        #expect(parsed.frames.contains { $0.merged != nil }, "thin frames merged")
        #expect(diff.mostChanged(10).count == 10)
    }

    /// Checks that 100,000 samples make a profile whose sums are the input's.
    @Test func hundredThousandSamplesProfile() throws {
        var generator = TestRNG(seed: 3)
        var samples: [StackSample] = []
        var blocked: Int64 = 0
        for i in 0..<100_000 {
            let ns = UInt64.random(in: 1...1_000_000, using: &generator)
            samples.append(StackSample(state: .blocked, comm: "t\(i % 50)", tid: Int32(100 + i % 50),
                                       userFrames: ["f\(i % 997)", "g\(i % 89)", "main"], kernelFrames: ["__schedule"], valueNs: ns))
            blocked += Int64(ns)
        }
        let trace = ResolvedTrace(report: TraceReport(windowStartNs: 0, windowEndNs: 1, processes: [], lost: LostCounts()),
                                  stacks: SymbolizedStacks(samples))
        let profile = PprofWriter().profile(trace)
        #expect(profile.sample.count == 100_000)
        #expect(profile.sample.reduce(Int64(0)) { $0 + $1.value[3] } == blocked)
        #expect(try PprofWriter().data(trace).count > 0)
    }
}
