import CSwoffcpuShims
import SwoffcpuCore

/// Decoding of `struct swoffcpu_thread_rec` (bpf/swoffcpu.h) into Core's `ThreadRecord`.
enum KernelRecord {
    static let size = MemoryLayout<swoffcpu_thread_rec>.size

    /// Decodes consecutive records from an iterator's output or a ring-buffer sample.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> [ThreadRecord] {
        var records: [ThreadRecord] = []
        records.reserveCapacity(bytes.count / size)
        var offset = 0
        while offset + size <= bytes.count {
            let raw = bytes.loadUnaligned(fromByteOffset: offset, as: swoffcpu_thread_rec.self)
            records.append(record(from: raw))
            offset += size
        }
        return records
    }

    static func record(from r: swoffcpu_thread_rec) -> ThreadRecord {
        let ns = withUnsafeBytes(of: r.ns) { Array($0.bindMemory(to: UInt64.self)) }
        let comm = withUnsafeBytes(of: r.comm) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return ThreadRecord(
            tid: Int32(bitPattern: r.tid), tgid: Int32(bitPattern: r.tgid), comm: comm,
            startNs: r.start_ns, endNs: r.end_ns, times: StateTimes(indexed: ns),
            switches: r.switches, wakeups: r.wakeups,
            seeded: r.flags & UInt32(SWOFFCPU_F_SEEDED) != 0,
            born: r.flags & UInt32(SWOFFCPU_F_BORN) != 0,
            exited: r.flags & UInt32(SWOFFCPU_F_EXITED) != 0,
            finalState: ThreadState(rawValue: Int(r.state)) ?? .sleep)
    }
}
