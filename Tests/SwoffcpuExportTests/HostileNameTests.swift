import Foundation
import Testing
import SwoffcpuCore
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport

/// Thread, symbol, lock and process names come from the traced program: any program can name
/// its threads "\e[2J" or its functions "a;b\n". They go through every exporter here and must
/// come out inert: no control or bidi character on a terminal, valid folded lines with the
/// right frames, well-formed XML, valid JSON that gives the names back exactly.
@Suite("Hostile names")
struct HostileNameTests {
    /// Names a traced program could choose. The last is what invalid UTF-8 (a comm of bytes
    /// FF FE) becomes: every name is decoded with U+FFFD for bad bytes.
    static let names: [String] = [
        "\u{1B}[2J<b>x</b>",
        "a\nb;c\r d",
        "amp&lt;\"q'",
        "nul\u{0}byte\u{7}",
        "bidi\u{202E}cod.exe\u{2066}iso\u{2069}\u{200F}",
        "csi\u{9B}31m\u{85}nel\u{7F}",
        "ls\u{2028}ps\u{2029}",
        "tab\tvt\u{0B}ff\u{0C}bs\u{8}",
        String(decoding: [0x62, 0xFF, 0xFE, 0x1B, 0x5B, 0x33, 0x31, 0x6D], as: UTF8.self),
    ]

    /// Whether `text` would print inert on a terminal (lines split on "\n").
    static func terminalSafe(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0 == "\n" || !TerminalText.isUnsafe($0) }
    }

    /// Samples in each off-CPU state with hostile comms and frames.
    static var stacks: SymbolizedStacks {
        var samples: [StackSample] = []
        for (i, name) in names.enumerated() {
            samples.append(StackSample(state: [.blocked, .sleep, .sleepUninterruptible, .runnable][i % 4],
                                       comm: name, tid: Int32(100 + i),
                                       userFrames: [name + "_leaf", "mid;" + name, "start_thread"],
                                       kernelFrames: [name + "_k", "schedule"],
                                       valueNs: 1_000_000 * UInt64(i + 1)))
        }
        return SymbolizedStacks(samples)
    }

    static var report: TraceReport {
        let threads = names.enumerated().map { i, name in
            ReportFixtures.thread(Int32(100 + i), tgid: 100, comm: name, sleep: 1_000_000, blocked: 2_000_000)
        }
        return TraceReport(windowStartNs: ReportFixtures.start, windowEndNs: ReportFixtures.start + ReportFixtures.window,
                           processes: [ProcessReport(pid: 100, comm: names[0], exited: false, threads: threads)],
                           lost: LostCounts())
    }

    /// A lock report whose lock names, frames and comms are hostile.
    static var locks: LockReport {
        var waits: [LockData.Wait] = []
        var wakers: [LockData.Waker] = []
        for i in 0..<names.count {
            let tid = Int32(100 + i), uaddr = UInt64(0x1000 * (i + 1))
            waits.append(LockData.Wait(tgid: 100, tid: tid, uaddr: uaddr, op: .wait, waitNs: 1_000_000, waits: 5,
                                       maxWaitNs: 400_000))
            wakers.append(LockData.Waker(tgid: 100, waiterTid: tid, uaddr: uaddr, waiterUserStack: UInt64(i + 1),
                                         waiterKernelStack: 1000, wakerTid: Int32(100 + (i + 1) % names.count),
                                         wakerTgid: 100, wakerUserStack: UInt64(i + 1), wakerKernelStack: 1000,
                                         weightedNs: 1_000_000, wakeups: 5))
        }
        let data = LockData(waits: waits, wakers: wakers)
        return LockReport(data, report: report, symbols: LockReport.Symbols(
            userFrames: { _, id in [names[Int(id) - 1] + "_wait", "pthread_mutex_lock", "worker;" + names[Int(id) - 1]] },
            kernelFrames: { _ in ["futex_wait\u{1B}]0;title\u{7}", "schedule"] },
            lockName: { _, a in names[Int(a / 0x1000) - 1] }))
    }

    /// Checks the table, the top stacks and the lock sections: not one control or bidi
    /// character, and the names still recognizable with "?" in place.
    @Test func terminalText() {
        let table = BreakdownTable(target: Self.names[0] + " (pid 100)").render(Self.report)
        let top = TopStacks(top: 20).render(Self.stacks)
        let lockText = LockText(top: 20).render(Self.locks)
        for (what, text) in [("table", table), ("top stacks", top), ("locks", lockText)] {
            #expect(Self.terminalSafe(text), "\(what): \(text.unicodeScalars.filter { $0 != "\n" && TerminalText.isUnsafe($0) }.map { String($0.value, radix: 16) })")
            #expect(!text.contains("\u{1B}"), "\(what)")
            #expect(text.contains("?[2J<b>x</b>"), "\(what): \(text)")
        }
        // One thread per line: the newline in a name did not make a line of its own.
        #expect(table.split(separator: "\n").filter { $0.contains("a?b;c? d") }.count == 1)
        #expect(top.contains("a?b;c? d-101"))
        #expect(top.contains("bidi?cod.exe?iso??_leaf"))
        #expect(top.contains("csi?31m?nel?_k [k]"))
        #expect(lockText.contains("bidi?cod.exe?iso??"))
    }

    /// Checks the one sanitizer on every class of unsafe character.
    @Test func sanitizer() {
        #expect(TerminalText.sanitize("\u{1B}[2J\n\r\u{0}\u{7F}\u{80}\u{9B}\u{9F}") == "?[2J???????")
        #expect(TerminalText.sanitize("\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}") == "?????????")
        #expect(TerminalText.sanitize("\u{200E}\u{200F}\u{061C}\u{2028}\u{2029}") == "?????")
        // Printable text, wide characters, combining marks and emoji stay.
        let fine = "worker-1 é 漢字 e\u{301} 👍🏽 \u{A0}"
        #expect(TerminalText.sanitize(fine) == fine)
    }

    /// Checks the folded lines (stacks with comm-TID frames, and waits with wakers): each parses
    /// back into exactly the frames that were written, none holding `;` or a line break.
    @Test func folded() throws {
        let stacks = Self.stacks
        let result = FoldedWriter(options: .init(includeThread: true, keepZeroLines: true)).fold(stacks)
        let parsed = try FoldedParser().parse(result.text)
        // state, comm-TID, 3 user frames, 2 kernel frames.
        #expect(parsed.count == Self.names.count)
        #expect(parsed.allSatisfy { $0.frames.count == 7 }, "\(parsed.map(\.frames))")
        #expect(parsed.map(\.frames) == result.stacks.map(\.frames))
        for line in result.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            #expect(line.unicodeScalars.allSatisfy { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value)
                && $0 != "\u{2028}" && $0 != "\u{2029}" }, "\(line)")
        }
        // ESC became a space, then trimmed.
        #expect(parsed.contains { $0.frames.contains("[2J<b>x</b>-100") })
        #expect(parsed.contains { $0.frames.contains("mid:a b:c  d") })

        let wakers = WakerFolded(includeThread: true).render(Self.locks)
        let wakerLines = try FoldedParser().parse(wakers)
        #expect(wakerLines.count == Self.names.count)
        // blocked, KIND NAME, comm-TID, 3 user, 2 kernel, --, 2 kernel, 3 user, waker comm-TID.
        #expect(wakerLines.allSatisfy { $0.frames.count == 15 }, "\(wakerLines.map(\.frames))")
        #expect(wakers.unicodeScalars.allSatisfy { $0 == "\n" || ($0.value >= 0x20 && !(0x7F...0x9F).contains($0.value)) })
    }

    /// Checks that the flamegraphs are well-formed XML (U+0000 and friends are not allowed in
    /// XML 1.0) with the names in their titles as text, not markup.
    @Test func svg() throws {
        let folded = FoldedWriter(options: .init(includeThread: true)).fold(Self.stacks)
        let svg = FlamegraphWriter(options: FlamegraphOptions(title: "Off-CPU time: " + Self.names[0],
                                                              subtitle: Self.names[3])).render(folded)
        let parsed = ParsedFlamegraph(svg)
        #expect(parsed.isValid, "\(String(describing: parsed.error))")
        #expect(!svg.contains("<b>"))
        #expect(parsed.frames.contains { parsed.name($0).contains("<b>x</b>") })
        #expect(parsed.frames.contains { parsed.name($0).contains("amp&lt:\"q'") }) // `;` is `:` in folded frames
        let wakers = FlamegraphWriter().render(WakerFolded(includeThread: true).fold(Self.locks))
        #expect(ParsedFlamegraph(wakers).isValid)
        #expect(!wakers.contains("<b>"))
        // The drawn names of a folded file written by another tool, with raw control characters.
        let raw = FlamegraphWriter().render(stacks: [(frames: ["sleep", "nul\u{0}x\u{1B}[2J", "<b>&amp;"], value: 5)])
        #expect(ParsedFlamegraph(raw).isValid)
    }

    /// Checks the JSON (threads, stacks, locks): JSONSerialization reads it, the names come back
    /// exactly, and no raw control character is in the bytes.
    @Test func json() throws {
        var extra = StackJSON.members(Self.stacks, sampling: StackData())
        for m in LockJSON.members(Self.locks).members { extra[m.key] = m.value }
        let text = ReportJSON(report: Self.report, extraMembers: extra).render(pretty: true)
        let bytes = Array(text.utf8)
        #expect(!bytes.contains { $0 < 0x20 && $0 != 0x0A })
        #expect(!bytes.contains(0x7F))
        #expect(!zip(bytes, bytes.dropFirst()).contains { $0 == 0xC2 && (0x80...0x9F).contains($1) })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let comms = Set(((object["processes"] as? [[String: Any]])?.first?["threads"] as? [[String: Any]] ?? [])
            .compactMap { $0["comm"] as? String })
        #expect(comms == Set(Self.names))
        let stackComms = Set((object["stacks"] as? [[String: Any]] ?? []).compactMap { $0["comm"] as? String })
        #expect(stackComms == Set(Self.names))
        let frames = Set(object["stack_frames"] as? [String] ?? [])
        #expect(Self.names.allSatisfy { frames.contains($0 + "_leaf") && frames.contains("mid;" + $0) })
        #expect(text.contains(#"\u001b[2J<b>x</b>"#))
        #expect(text.contains(#"csi\u009b31m\u0085nel\u007f"#))
        #expect(text.contains(#"ls\u2028ps\u2029"#))
    }
}
