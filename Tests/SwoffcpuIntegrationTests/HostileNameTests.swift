import Foundation
import FoundationXML
import SwoffcpuExport
import Testing

extension IntegrationTests {
    @Suite("Hostile names", .enabled(if: geteuid() == 0, "runs swoffcpu, which loads BPF programs: run as root"))
    struct HostileNames {
        /// The thread name the `hostile` workload's threads give themselves (a comm holds 15 bytes).
        static let comm = "\u{1B}[2J<b>x</b>;\n"

        /// Checks, on a program whose threads, lock and function have names with ESC
        /// sequences, markup, `;` and a newline, that swoffcpu's stdout (table, top stacks, lock
        /// sections) and stderr have no ESC or other control character but line ends, and still
        /// show the names ("?" in place); that the folded files parse back with every frame
        /// whole; that the flamegraphs are well-formed XML with the names as text; and that the
        /// JSON reads back with the exact thread name.
        @Test func namesAreInertEverywhere() throws {
            let w = try Workload("hostile")
            defer { w.stop() }
            let dir = NSTemporaryDirectory() + "/swoffcpu-hostile-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let files = ["folded": dir + "/s.folded", "flamegraph": dir + "/s.svg", "json": dir + "/r.json",
                         "folded-wakers": dir + "/w.folded", "flamegraph-wakers": dir + "/w.svg"]
            let options = files.map { "--\($0.key) '\($0.value)'" }.joined(separator: " ")
            let r = try ShellRun.run("'\(try swoffcpuBinary())' -p \(w.pid) -d 1.5 --folded-thread -v \(options)")
            #expect(r.code == 0, "exit \(r.code): \(r.stderr)")

            // The terminal: nothing raw, the names visible.
            for (what, text) in [("stdout", r.stdout), ("stderr", r.stderr)] {
                let raw = text.unicodeScalars.filter { $0 != "\n" && TerminalText.isUnsafe($0) }
                #expect(raw.isEmpty, "\(what) has raw control characters: \(raw.map { String($0.value, radix: 16) })")
            }
            let sanitized = TerminalText.sanitize(Self.comm)  // "?[2J<b>x</b>;?"
            let table = r.stdout.split(separator: "\n").filter { $0.hasPrefix(sanitized) }
            #expect(table.count == 2, "a table row per renamed thread:\n\(r.stdout)")
            #expect(r.stdout.contains("Top off-CPU stacks: blocked"), "\(r.stdout)")
            #expect(r.stdout.contains("wait?[31m<i>;&"), "the hostile function in the top stacks:\n\(r.stdout)")
            #expect(r.stdout.contains("g_lock?[2J<b>x</b>;&"), "the hostile lock in the lock section:\n\(r.stdout)")
            print("[hostile] stdout:\n\(r.stdout.split(separator: "\n").prefix(30).joined(separator: "\n"))")

            // Folded: every line parses back, no frame holds a control character, the names are there.
            for key in ["folded", "folded-wakers"] {
                let text = try String(contentsOfFile: files[key]!, encoding: .utf8)
                let stacks = try FoldedParser().parse(text)
                #expect(!stacks.isEmpty, "\(key) is empty")
                #expect(text.unicodeScalars.allSatisfy { $0 == "\n" || ($0.value >= 0x20 && !(0x7F...0x9F).contains($0.value)) },
                        "\(key) has control characters")
                // The renamed threads' comm-TID frame: ESC and newline became spaces (trimmed), `;` a `:`.
                #expect(stacks.contains { $0.frames.contains { $0.hasPrefix("[2J<b>x</b>:") && $0.last?.isNumber == true } },
                        "\(key): no comm-TID frame")
                #expect(stacks.contains { $0.frames.contains("wait [31m<i>:&") }, "\(key): no hostile function frame")
            }

            // Flamegraphs: well-formed XML, markup in names escaped.
            for key in ["flamegraph", "flamegraph-wakers"] {
                let svg = try String(contentsOfFile: files[key]!, encoding: .utf8)
                let parser = XMLParser(data: Data(svg.utf8))
                #expect(parser.parse(), "\(key) is not well-formed XML: \(String(describing: parser.parserError))")
                #expect(!svg.contains("<b>") && !svg.contains("<i>"), "\(key) has raw markup from a name")
                #expect(svg.contains("&lt;b&gt;x&lt;/b&gt;"), "\(key) lacks the escaped thread name")
            }

            // JSON: valid, the exact names back.
            let data = try Data(contentsOf: URL(fileURLWithPath: files["json"]!))
            #expect(!data.contains(0x1B), "raw ESC in the JSON")
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let comms = ((object["processes"] as? [[String: Any]]) ?? []).flatMap {
                (($0["threads"] as? [[String: Any]]) ?? []).compactMap { $0["comm"] as? String }
            }
            #expect(comms.filter { $0 == Self.comm }.count == 2, "\(comms)")
            let frames = (object["stack_frames"] as? [String]) ?? []
            #expect(frames.contains("wait\u{1B}[31m<i>;&"), "the hostile function in stack_frames")
        }
    }
}
