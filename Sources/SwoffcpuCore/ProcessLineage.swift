/// Where a traced process came from and how it ended, when swoffcpu saw it (--follow, or a
/// command swoffcpu started): its place in the process tree, its command line and its exit.
public struct ProcessLineage: Sendable, Equatable {
    /// The parent process (its real parent's pid at birth or exec).
    public var ppid: Int32?
    /// The command line of its latest exec in the window (argv); nil if it did not exec there.
    public var arguments: [String]?
    /// Whether `arguments` were cut (the kernel side reads at most 256 bytes of them).
    public var argumentsTruncated = false
    /// CLOCK_MONOTONIC: born in the window (nil: existed at the start).
    public var bornNs: UInt64?
    /// CLOCK_MONOTONIC of its exit, and wait(2)'s status for it.
    public var exitNs: UInt64?
    public var exitStatus: Int32?
    /// The command swoffcpu started (`-- COMMAND`).
    public var isCommand = false

    public init(ppid: Int32? = nil, arguments: [String]? = nil, bornNs: UInt64? = nil) {
        self.ppid = ppid
        self.arguments = arguments
        self.bornNs = bornNs
    }

    /// The exit code, if it exited normally.
    public var exitCode: Int32? {
        guard let s = exitStatus, s & 0x7f == 0 else { return nil }
        return (s >> 8) & 0xff
    }

    /// The signal that killed it, if one did.
    public var exitSignal: Int32? {
        guard let s = exitStatus, s & 0x7f != 0, s & 0x7f != 0x7f else { return nil }
        return s & 0x7f
    }

    /// Whether it dumped core.
    public var coreDumped: Bool { exitSignal != nil && (exitStatus ?? 0) & 0x80 != 0 }

    /// "exit 0", "killed by SIGKILL", "killed by SIGSEGV (core dumped)"; nil while it runs.
    public var exitDescription: String? {
        if let code = exitCode { return "exit \(code)" }
        if let sig = exitSignal {
            return "killed by \(Self.signalName(sig))" + (coreDumped ? " (core dumped)" : "")
        }
        return nil
    }

    /// The command line as a shell would show it (arguments quoted where needed).
    public var commandLine: String? {
        arguments.map { args in args.map(Self.shellQuoted).joined(separator: " ") + (argumentsTruncated ? "…" : "") }
    }

    static func shellQuoted(_ arg: String) -> String {
        let plain = !arg.isEmpty && arg.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "-_./=:,+@%".unicodeScalars.contains(c)
        }
        return plain ? arg : "'" + arg.replacing("'", with: "'\\''") + "'"
    }

    /// Linux's signal names (x86-64 numbering).
    public static func signalName(_ sig: Int32) -> String {
        let names = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
                     8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
                     14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
                     20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
                     26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"]
        return names[Int(sig)] ?? "signal \(sig)"
    }
}

extension TraceReport {
    /// The processes in process-tree order: each parent before its children (children by birth,
    /// then pid), roots in their current order; with each process its depth in the tree (0: a
    /// root, i.e. a process whose parent is not in the report).
    public func processTree() -> [(process: ProcessReport, depth: Int)] {
        let pids = Set(processes.map(\.pid))
        var children: [Int32: [Int]] = [:]
        var roots: [Int] = []
        for (i, p) in processes.enumerated() {
            if let ppid = p.lineage?.ppid, ppid != p.pid, pids.contains(ppid) {
                children[ppid, default: []].append(i)
            } else {
                roots.append(i)
            }
        }
        for key in children.keys {
            children[key]?.sort { a, b in
                let (x, y) = (processes[a], processes[b])
                let (bx, by) = (x.lineage?.bornNs ?? 0, y.lineage?.bornNs ?? 0)
                return bx != by ? bx < by : x.pid < y.pid
            }
        }
        var out: [(process: ProcessReport, depth: Int)] = []
        var seen = Set<Int32>()
        func visit(_ i: Int, _ depth: Int) {
            let p = processes[i]
            guard seen.insert(p.pid).inserted else { return } // a cycle through a reused pid
            out.append((p, depth))
            for c in children[p.pid] ?? [] { visit(c, depth + 1) }
        }
        for r in roots { visit(r, 0) }
        // Anything left (only through a cycle): as roots.
        for i in processes.indices where !seen.contains(processes[i].pid) { visit(i, 0) }
        return out
    }
}
