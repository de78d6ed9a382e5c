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

        var frameCount = 0
        for id in 0..<Int32(table.count) { frameCount += table.frames(id).count }
        var stackTable = JSONText(reservingCapacity: table.count * 4 + frameCount * 7)
        stackTable.beginArray()
        for id in 0..<Int32(table.count) {
            stackTable.newline()
            stackTable.element { out in
                out.append(UInt8(ascii: "["))
                for (i, frame) in table.frames(id).enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    out.appendDecimal(UInt64(frame))
                }
                out.append(UInt8(ascii: "]"))
            }
        }
        stackTable.newline()
        stackTable.endArray()
        members["stack_table"] = .raw(stackTable.bytes)

        // Entries from constant parts: keys, state names and comms escaped once.
        func literal(_ s: String) -> [UInt8] {
            var out: [UInt8] = []
            JSONValue.writeString(s, to: &out)
            return out
        }
        let states = ThreadState.allCases.map { literal($0.name) }
        var comms: [String: [UInt8]] = [:]
        var last: (comm: String, literal: [UInt8]) = ("", literal(""))
        // Most time first, ties by tid, then as attributed; sorted as plain numbers.
        var order = stacks.samples.indices.map { (ns: stacks.samples[$0].valueNs, tid: stacks.samples[$0].tid, index: $0) }
        order.sort { a, b in a.ns != b.ns ? a.ns > b.ns : a.tid != b.tid ? a.tid < b.tid : a.index < b.index }
        var entries = JSONText(reservingCapacity: order.count * 110)
        entries.beginArray()
        for o in order {
            let s = stacks.samples[o.index]
            if s.comm != last.comm {
                let escaped = comms[s.comm] ?? literal(s.comm)
                comms[s.comm] = escaped
                last = (s.comm, escaped)
            }
            let comm = last.literal
            entries.newline()
            entries.element { out in
                out += Key.tid
                if s.tid < 0 { out.append(UInt8(ascii: "-")) }
                out.appendDecimal(UInt64(s.tid.magnitude))
                out += Key.comm
                out += comm
                out += Key.state
                out += states[s.state.rawValue]
                out += Key.ns
                out.appendDecimal(s.valueNs)
                out += Key.userStack
                out.appendDecimal(UInt64(s.userStack))
                out += Key.kernelStack
                out.appendDecimal(UInt64(s.kernelStack))
                out.append(UInt8(ascii: "}"))
            }
        }
        if !order.isEmpty { entries.newline() }
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

    /// The keys of an entry with their punctuation, as bytes.
    private enum Key {
        static let tid = Array(#"{"tid":"#.utf8)
        static let comm = Array(#","comm":"#.utf8)
        static let state = Array(#","state":"#.utf8)
        static let ns = Array(#","ns":"#.utf8)
        static let userStack = Array(#","user_stack":"#.utf8)
        static let kernelStack = Array(#","kernel_stack":"#.utf8)
    }
}
