import SwoffcpuCore
import SwoffcpuResolve

/// The `locks` and `lock_drops` members of the JSON report (docs/json-schema.md, "Locks").
public enum LockJSON {
    /// Stacks listed per lock and side (waiters, releasers); the rest are counted.
    public static let maxStacks = 5

    /// `locks`: every lock, contended and idle, most wait first; `lock_drops`: what the
    /// kernel's lock tables could not hold.
    public static func members(_ report: LockReport) -> JSONObject {
        var members = JSONObject()
        members["locks"] = .array(report.all.map { .object(object($0)) })
        var drops = JSONObject()
        drops["waits_dropped"] = .uint(report.waitsDropped)
        drops["waits_dropped_ns"] = .uint(report.waitsDroppedNs)
        drops["wakers_dropped"] = .uint(report.wakersDropped)
        members["lock_drops"] = .object(drops)
        return members
    }

    public static func object(_ lock: LockReport.Lock) -> JSONObject {
        var o = JSONObject()
        o["pid"] = .int(Int64(lock.tgid))
        o["comm"] = .string(lock.comm)
        o["address"] = .uint(lock.uaddr)
        o["address_hex"] = .string(LockReport.hexAddress(lock.uaddr))
        o["name"] = .string(lock.name)
        o["kind"] = .string(lock.kind.token)
        o["idle"] = .bool(lock.isIdle)
        o["op"] = .string(lock.op.name)
        o["ops"] = .array(lock.ops.map { .string($0.name) })
        o["wait_ns"] = .uint(lock.waitNs)
        o["waits"] = .uint(lock.waits)
        o["avg_wait_ns"] = .uint(lock.averageNs)
        o["max_wait_ns"] = .uint(lock.maxWaitNs)
        o["waiters"] = .array(lock.waiters.map { t in
            var w = JSONObject()
            w["tid"] = .int(Int64(t.tid))
            w["comm"] = .string(t.comm)
            w["wait_ns"] = .uint(t.ns)
            w["waits"] = .uint(t.count)
            return .object(w)
        })
        o["sampled_wait_ns"] = .uint(lock.sampledNs)
        o["waiter_stacks"] = .array(lock.waiterStacks.prefix(maxStacks).map { .object(stack($0)) })
        o["waiter_stacks_omitted"] = .uint(UInt64(max(0, lock.waiterStacks.count - maxStacks)))
        o["releaser_stacks"] = .array(lock.releaserStacks.prefix(maxStacks).map { .object(stack($0)) })
        o["releaser_stacks_omitted"] = .uint(UInt64(max(0, lock.releaserStacks.count - maxStacks)))
        o["releasers"] = .array(lock.releasers.map { t in
            var r = JSONObject()
            r["tid"] = .int(Int64(t.tid))
            r["pid"] = .int(Int64(t.tgid))
            r["comm"] = .string(t.comm)
            r["weighted_ns"] = .uint(t.ns)
            r["wakeups"] = .uint(t.count)
            return .object(r)
        })
        return o
    }

    static func stack(_ s: LockReport.Stack) -> JSONObject {
        var o = JSONObject()
        o["weighted_ns"] = .uint(s.weightedNs)
        o["wakeups"] = .uint(s.wakeups)
        o["user_frames"] = .array(s.userFrames.map { .string($0) })
        o["kernel_frames"] = .array(s.kernelFrames.map { .string($0) })
        return o
    }
}
