import SwoffcpuCore
import SwoffcpuExport

/// The "stacks" member of the JSON report (see docs/json-schema.md).
enum StackJSON {
    static func members(report: TraceReport, stacks: SymbolizedStacks) -> JSONObject {
        var members = JSONObject()
        guard let data = report.stacks else { return members }
        let sorted = stacks.samples.sorted { $0.valueNs != $1.valueNs ? $0.valueNs > $1.valueNs : $0.tid < $1.tid }
        // Written as text, one object a line: a tree of values for 200,000 stacks took most
        // of the report's time and a gigabyte of memory.
        var json = JSONText(reservingCapacity: sorted.count * 256)
        json.beginArray()
        for s in sorted {
            json.newline()
            json.beginObject()
            json.key("tid"); json.int(Int64(s.tid))
            json.key("comm"); json.string(s.comm)
            json.key("state"); json.string(s.state.name)
            json.key("ns"); json.uint(s.valueNs)
            json.key("user_frames"); json.strings(stacks.table.names(s.userStack))
            json.key("kernel_frames"); json.strings(stacks.table.names(s.kernelStack))
            json.endObject()
        }
        if !sorted.isEmpty { json.newline() }
        json.endArray()
        members["stacks"] = .raw(json.text)
        var info = JSONObject()
        info["sampled"] = .bool(data.isSampled)
        info["walk_one_in"] = .uint(UInt64(data.walkOneIn))
        info["walk_period_ns"] = .uint(data.walkPeriodNs)
        info["switch_outs"] = .uint(data.switchOuts)
        info["walks"] = .uint(data.walks)
        info["stacks_dropped"] = .uint(data.stacksDropped)
        info["stacks_not_stored"] = .uint(data.stacksNotStored)
        info["stack_intervals_dropped"] = .uint(data.stackTimeDropped)
        members["stack_sampling"] = .object(info)
        return members
    }
}
