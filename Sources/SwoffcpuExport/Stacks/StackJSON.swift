import SwoffcpuCore
import SwoffcpuResolve

/// The stack members of the JSON report (docs/json-schema.md, "Stacks"): each distinct frame
/// name once (`stack_frames`), each distinct stack once as indices into them (`stack_table`),
/// and the time of each (thread, state, user stack, kernel stack) referring to the table
/// (`stacks`), then how the stacks were obtained (`stack_sampling`).
///
/// Written as text, one name, stack or object a line, in pieces as the file is written: a tree
/// of values for 200,000 stacks took most of the report's time and a gigabyte of memory, and
/// frame-name arrays repeated in every entry made a 110,000-stack report 160 MB.
public enum StackJSON {
    /// Items written per piece of a section.
    static let piece = 8_192

    public static func members(_ stacks: SymbolizedStacks, sampling data: StackData) -> JSONObject {
        var members = JSONObject()
        members["stack_frames"] = .section(JSONSection { text in
            text.beginArray()
            for name in stacks.table.names {
                text.newline()
                text.string(name)
            }
            if !stacks.table.names.isEmpty { text.newline() }
            text.endArray()
        })
        members["stack_table"] = .section(JSONSection(pieces: { tableWriter(stacks.table) }))
        members["stacks"] = .section(JSONSection(pieces: { entryWriter(stacks) }))

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

    /// `stack_table`: each stack's frame indices, a stack a line.
    private static func tableWriter(_ table: StackTable) -> (inout JSONText) -> Bool {
        var id: Int32 = 0
        return { text in
            if id == 0 { text.beginArray() }
            let end = min(Int32(table.count), id + Int32(piece))
            while id < end {
                text.newline()
                let frames = table.frames(id)
                text.element { out in
                    out.append(UInt8(ascii: "["))
                    for (i, frame) in frames.enumerated() {
                        if i > 0 { out.append(UInt8(ascii: ",")) }
                        out.appendDecimal(UInt64(frame))
                    }
                    out.append(UInt8(ascii: "]"))
                }
                id += 1
            }
            guard id == Int32(table.count) else { return true }
            text.newline()
            text.endArray()
            return false
        }
    }

    /// `stacks`: most time first, ties by tid, then as attributed; written from constant parts
    /// (keys, state names and comms escaped once).
    private static func entryWriter(_ stacks: SymbolizedStacks) -> (inout JSONText) -> Bool {
        var order = stacks.samples.indices.map { (ns: stacks.samples[$0].valueNs, tid: stacks.samples[$0].tid, index: $0) }
        order.sort { a, b in a.ns != b.ns ? a.ns > b.ns : a.tid != b.tid ? a.tid < b.tid : a.index < b.index }
        let states = ThreadState.allCases.map { literal($0.name) }
        var comms: [String: [UInt8]] = [:]
        var last: (comm: String, literal: [UInt8]) = ("", literal(""))
        var next = 0
        return { text in
            if next == 0 { text.beginArray() }
            let end = min(order.count, next + piece)
            while next < end {
                let s = stacks.samples[order[next].index]
                next += 1
                if s.comm != last.comm {
                    let escaped = comms[s.comm] ?? literal(s.comm)
                    comms[s.comm] = escaped
                    last = (s.comm, escaped)
                }
                let comm = last.literal
                text.newline()
                text.element { out in
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
            guard next == order.count else { return true }
            if !order.isEmpty { text.newline() }
            text.endArray()
            return false
        }
    }

    private static func literal(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        JSONValue.writeString(s, to: &out)
        return out
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
