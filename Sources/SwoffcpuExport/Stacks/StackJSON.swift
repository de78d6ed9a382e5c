import SwoffcpuCore

/// The stack members of the JSON report (docs/json-schema.md, "Stacks"): each distinct frame
/// name once (`stack_frames`), each distinct stack once as indices into them (`stack_table`),
/// and the time of each (thread, state, user stack, kernel stack) referring to the table
/// (`stacks`), then how the stacks were obtained (`stack_sampling`).
///
/// Written as text, one name, stack or object a line: a tree of values for 200,000 stacks
/// took most of the report's time and a gigabyte of memory, and frame-name arrays repeated
/// in every entry made a 110,000-stack report 160 MB.
public enum StackJSON {
    public static func members(_ stacks: SymbolizedStacks, sampling data: StackData) -> JSONObject {
        var members = JSONObject()
        let table = stacks.table
        var frames = JSONText()
        frames.beginArray()
        for name in table.names {
            frames.newline()
            frames.string(name)
        }
        if !table.names.isEmpty { frames.newline() }
        frames.endArray()
        members["stack_frames"] = .raw(frames.bytes)

        var stackTable = JSONText()
        stackTable.beginArray()
        for id in 0..<Int32(table.count) {
            stackTable.newline()
            stackTable.beginArray()
            for frame in table.frames(id) { stackTable.uint(UInt64(frame)) }
            stackTable.endArray()
        }
        stackTable.newline()
        stackTable.endArray()
        members["stack_table"] = .raw(stackTable.bytes)

        let sorted = stacks.samples.sorted { $0.valueNs != $1.valueNs ? $0.valueNs > $1.valueNs : $0.tid < $1.tid }
        var entries = JSONText(reservingCapacity: sorted.count * 100)
        entries.beginArray()
        for s in sorted {
            entries.newline()
            entries.beginObject()
            entries.key("tid"); entries.int(Int64(s.tid))
            entries.key("comm"); entries.string(s.comm)
            entries.key("state"); entries.string(s.state.name)
            entries.key("ns"); entries.uint(s.valueNs)
            entries.key("user_stack"); entries.uint(UInt64(s.userStack))
            entries.key("kernel_stack"); entries.uint(UInt64(s.kernelStack))
            entries.endObject()
        }
        if !sorted.isEmpty { entries.newline() }
        entries.endArray()
        members["stacks"] = .raw(entries.bytes)

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
