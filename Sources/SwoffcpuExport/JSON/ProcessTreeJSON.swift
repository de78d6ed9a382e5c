import SwoffcpuCore

/// A followed process's place in the process tree (--follow, `-- COMMAND`), as members of its
/// JSON object (docs/json-schema.md): none for a process without lineage.
public enum ProcessTreeJSON {
    @Sendable public static func members(_ process: ProcessReport) -> JSONObject {
        var object = JSONObject()
        guard let l = process.lineage else { return object }
        object["ppid"] = l.ppid.map { .int(Int64($0)) } ?? .null
        object["command"] = .bool(l.isCommand)
        object["argv"] = l.arguments.map { .array($0.map { .string($0) }) } ?? .null
        object["argv_truncated"] = .bool(l.argumentsTruncated)
        object["born_ns"] = l.bornNs.map { .uint($0) } ?? .null
        object["exit_ns"] = l.exitNs.map { .uint($0) } ?? .null
        if l.exitStatus != nil {
            var exit = JSONObject()
            exit["code"] = l.exitCode.map { .int(Int64($0)) } ?? .null
            exit["signal"] = l.exitSignal.map { .int(Int64($0)) } ?? .null
            exit["signal_name"] = l.exitSignal.map { .string(ProcessLineage.signalName($0)) } ?? .null
            exit["core_dumped"] = .bool(l.coreDumped)
            object["exit"] = .object(exit)
        } else {
            object["exit"] = .null
        }
        return object
    }
}
