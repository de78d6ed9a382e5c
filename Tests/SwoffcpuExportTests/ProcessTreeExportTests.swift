import SwoffcpuCore
import SwoffcpuExport
import Testing

/// The process tree of a followed trace (--follow, `-- COMMAND`) in the table and the JSON.
@Suite("Process tree export")
struct ProcessTreeExportTests {
    /// make (the command) → sh → {sleep, cat}, listed out of order, plus an unrelated root.
    static var followed: TraceReport {
        let s = ReportFixtures.start
        func process(_ pid: Int32, _ comm: String, ppid: Int32?, born: UInt64?, argv: [String]?, status: Int32?) -> ProcessReport {
            var p = ProcessReport(pid: pid, comm: comm, exited: status != nil, threads: [
                ReportFixtures.thread(pid, tgid: pid, comm: comm, sleep: 1_000_000, startOffset: born ?? 0,
                                      length: 50_000_000, exited: status != nil, born: born != nil),
            ])
            var l = ProcessLineage(ppid: ppid, arguments: argv, bornNs: born.map { s + $0 })
            l.exitStatus = status
            p.lineage = l
            return p
        }
        var make = process(100, "make", ppid: 99, born: nil, argv: ["make", "-j2"], status: 2 << 8)
        make.lineage?.isCommand = true
        let processes = [
            process(103, "cat", ppid: 101, born: 3_000_000, argv: ["cat"], status: 0),
            process(101, "sh", ppid: 100, born: 1_000_000, argv: ["sh", "-c", "sleep 1 | cat"], status: 0),
            make,
            process(102, "sleep", ppid: 101, born: 2_000_000, argv: ["sleep", "1"], status: 9),
            process(200, "other", ppid: 1, born: nil, argv: nil, status: nil),
        ]
        return TraceReport(windowStartNs: s, windowEndNs: s + ReportFixtures.window, processes: processes, lost: LostCounts())
    }

    /// Checks the tree order: each parent before its children, children by birth, roots kept.
    @Test func treeOrder() {
        let tree = Self.followed.processTree()
        #expect(tree.map(\.process.pid) == [100, 101, 102, 103, 200])
        let depths = Dictionary(uniqueKeysWithValues: tree.map { ($0.process.pid, $0.depth) })
        #expect(depths == [100: 0, 101: 1, 102: 2, 103: 2, 200: 0])
        let order = tree.map(\.process.pid)
        #expect(order.firstIndex(of: 100)! < order.firstIndex(of: 101)!)
        #expect(order.firstIndex(of: 101)! < order.firstIndex(of: 102)!)
        #expect(order.firstIndex(of: 102)! < order.firstIndex(of: 103)!, "children by birth")
    }

    /// Checks how exits and command lines are said.
    @Test func lineageText() {
        var l = ProcessLineage(arguments: ["sh", "-c", "sleep 1 | cat", "it's"])
        #expect(l.commandLine == "sh -c 'sleep 1 | cat' 'it'\\''s'")
        l.exitStatus = 3 << 8
        #expect(l.exitDescription == "exit 3")
        l.exitStatus = 9
        #expect(l.exitDescription == "killed by SIGKILL")
        l.exitStatus = 11 | 0x80
        #expect(l.exitDescription == "killed by SIGSEGV (core dumped)")
        l.exitStatus = nil
        #expect(l.exitDescription == nil)
    }

    /// Checks the table: children indented under their parent, parent, birth and exit on the
    /// process line, the command line under it.
    @Test func table() {
        var report = Self.followed
        report.processes = report.processTree().map(\.process)
        let text = BreakdownTable().render(report)
        #expect(text.contains("pid 100 make (child of 99, exited 50.0ms into the window: exit 2), 1 thread\n  $ make -j2\n"))
        #expect(text.contains("└ pid 101 sh (child of 100, born 1.00ms into the window, exited 51.0ms into the window: exit 0), 1 thread\n    $ sh -c 'sleep 1 | cat'\n"))
        #expect(text.contains("  └ pid 102 sleep (child of 101, born 2.00ms into the window, exited 52.0ms into the window: killed by SIGKILL)"))
        #expect(text.contains("pid 200 other (child of 1), 1 thread"))
    }

    /// Checks the JSON members of a followed process, and none for one not followed.
    @Test func json() throws {
        var report = Self.followed
        let plain = ReportFixtures.thread(300, tgid: 300, comm: "plain")
        report.processes.append(ProcessReport(pid: 300, comm: "plain", exited: false, threads: [plain]))
        let doc = ReportJSON(report: report, processMembers: ProcessTreeJSON.members).document()
        guard case .array(let processes)? = doc["processes"] else { Issue.record("no processes"); return }
        func object(_ pid: Int64) -> JSONObject? {
            for case .object(let o) in processes where o["pid"] == .int(pid) { return o }
            return nil
        }
        let make = try #require(object(100))
        #expect(make["ppid"] == .int(99))
        #expect(make["command"] == .bool(true))
        #expect(make["argv"] == .array([.string("make"), .string("-j2")]))
        #expect(make["born_ns"] == .null)
        guard case .object(let exit)? = make["exit"] else { Issue.record("no exit"); return }
        #expect(exit["code"] == .int(2) && exit["signal"] == .null)
        guard case .object(let killed)? = try #require(object(102))["exit"] else { Issue.record("no exit"); return }
        #expect(killed["signal"] == .int(9) && killed["signal_name"] == .string("SIGKILL") && killed["code"] == .null)
        #expect(try #require(object(101))["born_ns"] == .uint(ReportFixtures.start + 1_000_000))
        #expect(try #require(object(300))["ppid"] == nil, "a process not followed has no tree members")
    }
}
