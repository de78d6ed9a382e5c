import SwoffcpuCore

/// The report as JSON, schema version 2 (docs/json-schema.md).
///
/// Keys are written by hand in a fixed, documented order (not sorted): `schema_version`,
/// the window, `processes`, `lost`, then any `extraMembers` in the order they were added.
/// All times are integer nanoseconds; `sleep_ns` includes `sleep_uninterruptible_ns`, so
/// `on_cpu_ns + runnable_ns + sleep_ns + blocked_ns == window_ns` for every thread.
///
/// Extending: later sections (e.g. the stacks, the locks) go in `extraMembers`, or per process and
/// per thread through `processMembers` / `threadMembers`, appended after their documented keys.
/// Adding keys keeps the schema version; renaming, removing or changing the meaning of one bumps it.
public struct ReportJSON: Sendable {
    /// Bumped on any incompatible change (a key renamed, removed, or its meaning changed).
    public static let schemaVersion = 2

    public var report: TraceReport
    /// Top-level members written after `lost`, in order.
    public var extraMembers: JSONObject
    /// Members appended to each process object, after `threads`.
    public var processMembers: (@Sendable (ProcessReport) -> JSONObject)?
    /// Members appended to each thread object, after `exited`.
    public var threadMembers: (@Sendable (ThreadRecord) -> JSONObject)?

    public init(report: TraceReport, extraMembers: JSONObject = JSONObject(),
                processMembers: (@Sendable (ProcessReport) -> JSONObject)? = nil,
                threadMembers: (@Sendable (ThreadRecord) -> JSONObject)? = nil) {
        self.report = report
        self.extraMembers = extraMembers
        self.processMembers = processMembers
        self.threadMembers = threadMembers
    }

    /// The document as a value, to inspect or extend before writing.
    public func document() -> JSONObject {
        var doc = JSONObject()
        doc["schema_version"] = .int(Int64(Self.schemaVersion))
        doc["window_ns"] = .uint(report.windowNs)
        doc["window_start_ns"] = .uint(report.windowStartNs)
        doc["window_end_ns"] = .uint(report.windowEndNs)
        doc["processes"] = .array(report.processes.map { .object(processObject($0)) })
        doc["lost"] = .object(Self.lostObject(report.lost))
        for member in extraMembers.members { doc[member.key] = member.value }
        return doc
    }

    /// The JSON text, ending in a newline. Pretty: two-space indent; else one line.
    public func render(pretty: Bool = true) -> String {
        JSONValue.object(document()).serialized(pretty: pretty) + "\n"
    }

    /// `render`, as UTF-8 bytes handed to `body` in pieces, in order (see `JSONValue.write(pretty:to:)`).
    public func write(pretty: Bool = true, to body: ([UInt8]) throws -> Void) rethrows {
        try JSONValue.object(document()).write(pretty: pretty, to: body)
        try body([UInt8(ascii: "\n")])
    }

    /// One process: totals over its threads, then the threads.
    public func processObject(_ process: ProcessReport) -> JSONObject {
        var object = JSONObject()
        object["pid"] = .int(Int64(process.pid))
        object["comm"] = .string(process.comm)
        object["exited"] = .bool(process.exited)
        Self.addTimes(process.times, to: &object)
        object["stolen_ns"] = .uint(process.threads.reduce(0) { $0 + $1.stolenNs })
        object["interrupt_ns"] = .uint(process.threads.reduce(0) { $0 + $1.interruptNs })
        let gil = process.threads.reduce(0) { $0 + $1.gilWaitNs }
        if gil > 0 { object["gil_wait_ns"] = .uint(gil) }
        object["threads"] = .array(process.threads.map { .object(threadObject($0)) })
        if let processMembers {
            for member in processMembers(process).members { object[member.key] = member.value }
        }
        return object
    }

    /// One thread's record.
    public func threadObject(_ thread: ThreadRecord) -> JSONObject {
        var object = JSONObject()
        object["tid"] = .int(Int64(thread.tid))
        object["comm"] = .string(thread.comm)
        object["window_ns"] = .uint(thread.windowNs)
        object["start_ns"] = .uint(thread.startNs)
        object["end_ns"] = .uint(thread.endNs)
        Self.addTimes(thread.times, to: &object)
        object["stolen_ns"] = .uint(thread.stolenNs)
        object["interrupt_ns"] = .uint(thread.interruptNs)
        // Python threads only (docs/python.md): of blocked, the waits to take the GIL.
        if thread.gilWaitNs > 0 { object["gil_wait_ns"] = .uint(thread.gilWaitNs) }
        if let name = thread.pythonName { object["python_name"] = .string(name) }
        object["switches"] = .uint(thread.switches)
        object["wakeups"] = .uint(thread.wakeups)
        object["seeded"] = .bool(thread.seeded)
        object["born"] = .bool(thread.born)
        object["exited"] = .bool(thread.exited)
        // --cgroup only, and only when true: moved into / out of the cgroup in the window.
        if thread.joined { object["joined"] = .bool(true) }
        if thread.left { object["left"] = .bool(true) }
        if let threadMembers {
            for member in threadMembers(thread).members { object[member.key] = member.value }
        }
        return object
    }

    public static func lostObject(_ lost: LostCounts) -> JSONObject {
        [
            "untraced_threads": .uint(lost.untracedThreads),
            "exit_records_dropped": .uint(lost.exitRecordsDropped),
            "exit_records_dropped_ns": .uint(lost.exitRecordsDroppedNs),
            "switches_recovered": .uint(lost.switchesRecovered),
        ]
    }

    /// The five time keys; `sleep_ns` is both kinds of sleep.
    private static func addTimes(_ times: StateTimes, to object: inout JSONObject) {
        object["on_cpu_ns"] = .uint(times.onCPU)
        object["runnable_ns"] = .uint(times.runnable)
        object["sleep_ns"] = .uint(times.sleep)
        object["sleep_uninterruptible_ns"] = .uint(times.sleepUninterruptible)
        object["blocked_ns"] = .uint(times.blocked)
    }
}
