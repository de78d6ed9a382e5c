import SwoffcpuCore
import SwoffcpuExport

/// The "stacks" member of the JSON report (see docs/json-schema.md).
enum StackJSON {
    static func members(report: TraceReport, samples: [StackSample]) -> JSONObject {
        var members = JSONObject()
        guard let data = report.stacks else { return members }
        let sorted = samples.sorted { $0.valueNs != $1.valueNs ? $0.valueNs > $1.valueNs : $0.tid < $1.tid }
        members["stacks"] = .array(sorted.map { s in
            var o = JSONObject()
            o["tid"] = .int(Int64(s.tid))
            o["comm"] = .string(s.comm)
            o["state"] = .string(s.state.name)
            o["ns"] = .uint(s.valueNs)
            o["user_frames"] = .array(s.userFrames.map { .string($0) })
            o["kernel_frames"] = .array(s.kernelFrames.map { .string($0) })
            return .object(o)
        })
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
