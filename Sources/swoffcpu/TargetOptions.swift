import ArgumentParser

/// What to trace and for how long.
struct TargetOptions: ParsableArguments {
    @Option(name: [.customShort("p"), .customLong("pid")], parsing: .singleValue,
            help: ArgumentHelp("Trace these processes: all their threads, and threads they create (comma-separated or repeated).", valueName: "PID[,PID…]"))
    var pidLists: [String] = []

    @Option(name: [.customShort("t"), .customLong("tid")], parsing: .singleValue,
            help: ArgumentHelp("Trace only these threads (comma-separated or repeated).", valueName: "TID[,TID…]"))
    var tidLists: [String] = []

    @Option(name: [.customShort("d"), .customLong("duration")],
            help: ArgumentHelp("Stop after this many seconds (default: Ctrl-C, or when every traced process has exited).", valueName: "SECONDS"))
    var duration: Double?

    @OptionGroup var service: ServiceTargetOptions // --cgroup, -a

    var pids: [Int32] { (try? Self.parseIDs(pidLists)) ?? [] }
    var tids: [Int32] { (try? Self.parseIDs(tidLists)) ?? [] }

    static func parseIDs(_ lists: [String]) throws -> [Int32] {
        var ids: [Int32] = []
        for list in lists {
            for part in list.split(separator: ",", omittingEmptySubsequences: false) {
                let text = part.trimmingCharacters(in: .whitespaces)
                guard let id = Int32(text), id > 0 else {
                    throw ValidationError(text.isEmpty ? "an empty process or thread id in '\(list)'"
                                                       : "'\(part)' is not a process or thread id (a positive integer)")
                }
                if ids.contains(id) { throw ValidationError("\(id) is given twice") }
                ids.append(id)
            }
        }
        return ids
    }

    func validate() throws {
        _ = try Self.parseIDs(pidLists)
        _ = try Self.parseIDs(tidLists)
        // That there is a target at all (-p, -t, --cgroup, -a or a command) is checked by Swoffcpu.validate.
        if service.given && !(pidLists.isEmpty && tidLists.isEmpty) {
            throw ValidationError("-p and -t exclude --cgroup and -a: give one kind of target")
        }
        if let duration, !(duration > 0 && duration.isFinite) {
            throw ValidationError("--duration must be a positive number of seconds, not \(duration)")
        }
        // 10^8 s is three years: past that, the deadline in ns would leave 64 bits.
        if let duration, duration > 1e8 {
            throw ValidationError("--duration of \(duration) seconds is more than 10^8 (three years): leave it out to trace until Ctrl-C")
        }

    }
}

private extension Substring {
    func trimmingCharacters(in _: CharacterSet) -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

private enum CharacterSet { case whitespaces }
