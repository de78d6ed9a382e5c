import CLibBPF
import CSwoffcpuShims
import Glibc
import SwoffcpuCore

/// The timeline's ring buffer (bpf/timeline.bpf.h), drained by `consume` (the session's
/// poll, every 100 ms, and at the end). Once `limit` slices are in, the kernel side is told
/// to stop sending (`timeline_full`): what it then cannot send, it counts as dropped, as it
/// does when the ring is full.
final class TimelineRing {
    private var ring: OpaquePointer?
    private let sink: Sink
    private let skel: OpaquePointer

    final class Sink {
        var slices: [TimelineSlice] = []
        let limit: Int
        /// Slices that arrived past the limit (sent before the kernel side saw the flag).
        var overLimit: UInt64 = 0
        var overLimitNs: UInt64 = 0
        /// Per thread, where its last wait slice and the runnable slice after it are in
        /// `slices`: an on-CPU slice whose wait ended earlier (SWOFFCPU_TL_F_EARLY) moves them.
        var lastWait: [Int32: (wait: Int, runnable: Int?)] = [:]

        func append(_ slice: TimelineSlice, early: UInt64) {
            var slice = slice
            switch slice.state {
            case .onCPU:
                if early > 0, let last = lastWait[slice.tid] {
                    TimelineSlice.endWaitEarly(&slices, wait: last.wait, runnable: last.runnable, onCPU: &slice, by: early)
                }
                lastWait[slice.tid] = nil
            case .runnable:
                if lastWait[slice.tid] != nil { lastWait[slice.tid]?.runnable = slices.count }
            default:
                lastWait[slice.tid] = (slices.count, nil)
            }
            slices.append(slice)
        }
        init(limit: Int) { self.limit = limit }
    }

    init(skel: OpaquePointer, limit: Int) throws {
        self.skel = skel
        sink = Sink(limit: max(0, limit))
        if limit <= 0 { swoffcpu_set_timeline_full(skel, 1) }
        let fd = swoffcpu_map_fd(skel, SWOFFCPU_MAP_TIMELINE_EVENTS)
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        ring = ring_buffer__new(fd, { ctx, data, size in
            guard let ctx, let data, size >= MemoryLayout<swoffcpu_tl_event>.size else { return 0 }
            let sink = Unmanaged<TimelineRing.Sink>.fromOpaque(ctx).takeUnretainedValue()
            let e = UnsafeRawPointer(data).loadUnaligned(as: swoffcpu_tl_event.self)
            let slice = TimelineRing.slice(e)
            if sink.slices.count >= sink.limit {
                sink.overLimit += 1
                sink.overLimitNs += slice.durationNs
            } else {
                sink.append(slice, early: e.flags & UInt32(SWOFFCPU_TL_F_EARLY) != 0 ? e.chan : 0)
            }
            return 0
        }, ctx, nil)
        if ring == nil { throw BPFError("creating the timeline ring buffer", errno: errno) }
    }

    static func slice(_ e: swoffcpu_tl_event) -> TimelineSlice {
        var waker: Waker?
        if e.flags & UInt32(SWOFFCPU_TL_F_WAKER) != 0 {
            let context: Waker.Context = e.flags & UInt32(SWOFFCPU_TL_F_HARDIRQ) != 0 ? .hardirq
                : e.flags & UInt32(SWOFFCPU_TL_F_SOFTIRQ) != 0 ? .softirq : .thread
            waker = Waker(tid: Int32(bitPattern: e.waker_tid), tgid: Int32(bitPattern: e.waker_tgid), context: context)
        }
        return TimelineSlice(tid: Int32(bitPattern: e.tid), tgid: Int32(bitPattern: e.tgid), startNs: e.start_ns,
                             endNs: e.end_ns, state: ThreadState(rawValue: Int(e.state)) ?? .sleep,
                             channel: e.flags & UInt32(SWOFFCPU_TL_F_EARLY) != 0 ? 0 : e.chan,
                             channelIsSyscall: e.flags & UInt32(SWOFFCPU_TL_F_SYSCALL) != 0, waker: waker)
    }

    func consume() {
        guard let ring else { return }
        ring_buffer__consume(ring)
        if sink.slices.count >= sink.limit { swoffcpu_set_timeline_full(skel, 1) }
    }

    /// Everything received, with the drops counted on both sides.
    func finish() -> TimelineData {
        consume()
        func counter(_ idx: Int32) -> UInt64 {
            var sum: UInt64 = 0
            _ = swoffcpu_read_timeline_counter(skel, UInt32(idx), &sum)
            return sum
        }
        return TimelineData(slices: sink.slices,
                            droppedSlices: counter(SWOFFCPU_TL_CTR_DROPPED) + sink.overLimit,
                            droppedNs: counter(SWOFFCPU_TL_CTR_DROPPED_NS) + sink.overLimitNs,
                            limit: sink.limit)
    }

    deinit {
        if let ring { ring_buffer__free(ring) }
    }
}
