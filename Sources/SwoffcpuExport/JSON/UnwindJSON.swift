import SwoffcpuResolve

/// The JSON report's `unwind` member (docs/unwinding.md, docs/json-schema.md).
enum UnwindJSON {
    static func object(_ u: UnwindSummary) -> JSONValue {
        var truncated = JSONObject()
        for t in u.truncated { truncated[t.reason] = .uint(t.count) }
        var o = JSONObject()
        o["mode"] = .string(u.mode)
        o["modules"] = .uint(UInt64(u.modules))
        o["table_rows"] = .uint(UInt64(u.rows))
        o["table_bytes"] = .uint(UInt64(u.tableBytes))
        o["build_ns"] = .uint(u.buildNs)
        o["walks"] = .uint(u.walks)
        o["whole"] = .uint(u.whole)
        o["truncated"] = .object(truncated)
        o["fp_fallbacks"] = .uint(u.fpFallbacks)
        o["refreshes"] = .uint(UInt64(u.refreshes))
        return .object(o)
    }
}
