import SwoffcpuCore
import SwoffcpuResolve

extension ReportJSON {
    /// The whole report of a resolved trace: the state times, then `degraded`, then the stack
    /// members (when stacks were walked), then the lock members (docs/json-schema.md).
    public init(trace: ResolvedTrace) {
        var extra = JSONObject()
        extra["degraded"] = .array(trace.degraded.map { .string($0) })
        if let u = trace.unwind { extra["unwind"] = UnwindJSON.object(u) }
        if !trace.modules.isEmpty {
            extra["modules"] = .array(trace.modules.map { m in
                var o = JSONObject()
                o["pid"] = .int(Int64(m.pid))
                o["path"] = .string(m.path)
                o["build_id"] = m.buildID.map { .string($0) } ?? .null
                o["debug_file"] = m.debugFile.map { .string($0) } ?? .null
                o["stripped"] = .bool(m.stripped)
                return .object(o)
            })
        }
        if let sampling = trace.report.stacks {
            for m in StackJSON.members(trace.stacks, sampling: sampling).members { extra[m.key] = m.value }
        }
        if let locks = trace.locks {
            for m in LockJSON.members(locks).members { extra[m.key] = m.value }
        }
        self.init(report: trace.report, extraMembers: extra, processMembers: ProcessTreeJSON.members)
    }
}
