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
        let lost = withUnsafeBytes(of: r.stack_lost_ns) { Array($0.bindMemory(to: UInt64.self)) }
        var record = ThreadRecord(
            tid: Int32(bitPattern: r.tid), tgid: Int32(bitPattern: r.tgid), comm: comm,
            startNs: r.start_ns, endNs: r.end_ns, times: StateTimes(indexed: ns),
            switches: r.switches, wakeups: r.wakeups,
            seeded: r.flags & UInt32(SWOFFCPU_F_SEEDED) != 0,
            born: r.flags & UInt32(SWOFFCPU_F_BORN) != 0,
            exited: r.flags & UInt32(SWOFFCPU_F_EXITED) != 0,
            finalState: ThreadState(rawValue: Int(r.state)) ?? .sleep)
        record.stackLostNs = StateTimes(indexed: lost)
        record.joined = r.flags & UInt32(SWOFFCPU_F_JOINED) != 0
        record.left = r.flags & UInt32(SWOFFCPU_F_LEFT) != 0
        if r.flags & UInt32(SWOFFCPU_F_KCLOCKS) != 0 {
            record.kernelClocks = KernelClocks(onCPUNs: r.kernel_on_cpu_ns, runDelayNs: r.kernel_run_delay_ns,
                                               stolenNs: r.stolen_ns, interruptNs: r.irq_ns)
        }
        return record
    }

    /// Decodes the `stack_time` map's entries.
    static func stackEntries(keys: UnsafeRawBufferPointer, values: UnsafeRawBufferPointer, count: Int,
                             into entries: inout [StackData.Entry]) {
        let ks = MemoryLayout<swoffcpu_stack_key>.size, vs = MemoryLayout<swoffcpu_stack_val>.size
        for i in 0..<count {
            let k = keys.loadUnaligned(fromByteOffset: i * ks, as: swoffcpu_stack_key.self)
            let v = values.loadUnaligned(fromByteOffset: i * vs, as: swoffcpu_stack_val.self)
            guard let state = ThreadState(rawValue: Int(k.state)) else { continue }
            entries.append(StackData.Entry(tid: Int32(bitPattern: k.tid), state: state, userStack: k.user_stack,
                                           kernelStack: k.kernel_stack, weightedNs: v.weighted_ns, intervals: v.intervals))
        }
    }

    static func lockWaits(keys: UnsafeRawBufferPointer, values: UnsafeRawBufferPointer, count: Int) -> [LockData.Wait] {
        let ks = MemoryLayout<swoffcpu_lock_key>.size, vs = MemoryLayout<swoffcpu_lock_val>.size
        return (0..<count).map { i in
            let k = keys.loadUnaligned(fromByteOffset: i * ks, as: swoffcpu_lock_key.self)
            let v = values.loadUnaligned(fromByteOffset: i * vs, as: swoffcpu_lock_val.self)
            return LockData.Wait(tgid: Int32(bitPattern: k.tgid), tid: Int32(bitPattern: k.tid), uaddr: k.uaddr,
                                 op: LockData.Op(raw: k.op), waitNs: v.wait_ns, waits: v.waits, maxWaitNs: v.max_wait_ns)
        }
    }

    static func lockWakers(keys: UnsafeRawBufferPointer, values: UnsafeRawBufferPointer, count: Int) -> [LockData.Waker] {
        let ks = MemoryLayout<swoffcpu_waker_key>.size, vs = MemoryLayout<swoffcpu_waker_val>.size
        return (0..<count).map { i in
            let k = keys.loadUnaligned(fromByteOffset: i * ks, as: swoffcpu_waker_key.self)
            let v = values.loadUnaligned(fromByteOffset: i * vs, as: swoffcpu_waker_val.self)
            return LockData.Waker(
                tgid: Int32(bitPattern: k.tgid), waiterTid: Int32(bitPattern: k.waiter_tid), uaddr: k.uaddr,
                waiterUserStack: k.waiter_user_stack, waiterKernelStack: k.waiter_kernel_stack,
                wakerTid: Int32(bitPattern: k.waker_tid), wakerTgid: Int32(bitPattern: k.waker_tgid),
                wakerUserStack: k.waker_user_stack, wakerKernelStack: k.waker_kernel_stack,
                weightedNs: v.weighted_ns, wakeups: v.wakeups)
        }
    }

    /// Decodes a batch of the `user_leaves` map into `leaves` (see `StackData.UserLeaf.words`).
    static func leaves(keys: UnsafeRawBufferPointer, values: UnsafeRawBufferPointer, count: Int,
                       into leaves: inout WordRuns) {
        let vs = MemoryLayout<swoffcpu_user_leaf>.size
        let stackOffset = MemoryLayout<swoffcpu_user_leaf>.offset(of: \swoffcpu_user_leaf.stack)!
        var words: [UInt64] = [], runs: [(id: UInt64, count: Int)] = []
        words.reserveCapacity(count * (4 + Int(SWOFFCPU_LEAF_BYTES) / 8))
        runs.reserveCapacity(count)
        for i in 0..<count {
            let base = i * vs
            let len = min(Int(values.loadUnaligned(fromByteOffset: base + 24, as: UInt64.self)), Int(SWOFFCPU_LEAF_BYTES))
            let start = words.count
            for field in 0..<3 { words.append(values.loadUnaligned(fromByteOffset: base + field * 8, as: UInt64.self)) }
            words.append(UInt64(len))
            words.append(contentsOf: repeatElement(0, count: (len + 7) / 8))
            words.withUnsafeMutableBytes { out in
                out.baseAddress!.advanced(by: (start + 4) * 8)
                    .copyMemory(from: values.baseAddress! + base + stackOffset, byteCount: len)
            }
            runs.append((keys.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self), words.count - start))
        }
        leaves.appendBlock(words, runs: runs)
    }

    /// Decodes a batch of a `stacks` map into `stacks`: id -> frames, leaf first, as many as
    /// the walk found (the value holds room for 127).
    static func stacks(keys: UnsafeRawBufferPointer, values: UnsafeRawBufferPointer, count: Int,
                       into stacks: inout WordRuns) {
        let vs = MemoryLayout<swoffcpu_stack>.size
        var words: [UInt64] = [], runs: [(id: UInt64, count: Int)] = []
        runs.reserveCapacity(count)
        for i in 0..<count {
            let base = i * vs
            var n = 0
            while n < Int(SWOFFCPU_MAX_FRAMES), values.loadUnaligned(fromByteOffset: base + n * 8, as: UInt64.self) != 0 {
                words.append(values.loadUnaligned(fromByteOffset: base + n * 8, as: UInt64.self))
                n += 1
            }
            runs.append((keys.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self), n))
        }
        stacks.appendBlock(words, runs: runs)
    }
}
