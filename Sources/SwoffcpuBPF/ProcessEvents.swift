import CLibBPF
import CSwoffcpuShims
import Glibc

/// A birth, exec or exit of a traced process (bpf/follow.bpf.h, `struct swoffcpu_proc_event`).
public struct ProcessEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Created by a traced task and traced from birth (--follow).
        case fork
        /// Exec'ed: `comm` and `arguments` are the new image's.
        case exec
        /// Its last thread exited with `exitStatus` (wait(2)'s status).
        case exit
    }

    public var kind: Kind
    public var pid: Int32
    public var ppid: Int32
    /// CLOCK_MONOTONIC.
    public var timeNs: UInt64
    public var comm: String
    /// exec: argv, cut at SWOFFCPU_ARGS_LEN bytes (the last one then incomplete).
    public var arguments: [String]
    /// exec: whether `arguments` were cut.
    public var argumentsTruncated: Bool
    /// exit: wait(2)'s status.
    public var exitStatus: Int32

    /// Decodes one ring-buffer record; nil if it is not one.
    static func decode(_ raw: UnsafeRawBufferPointer) -> ProcessEvent? {
        guard raw.count >= MemoryLayout<swoffcpu_proc_event>.size else { return nil }
        let e = raw.loadUnaligned(as: swoffcpu_proc_event.self)
        let kind: Kind
        switch Int32(e.type) {
        case SWOFFCPU_PROC_FORK: kind = .fork
        case SWOFFCPU_PROC_EXEC: kind = .exec
        case SWOFFCPU_PROC_EXIT: kind = .exit
        default: return nil
        }
        let comm = withUnsafeBytes(of: e.comm) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        var arguments: [String] = []
        let argsLen = min(Int(e.args_len), Int(SWOFFCPU_ARGS_LEN))
        if argsLen > 0 {
            withUnsafeBytes(of: e.args) { bytes in
                var args = bytes[..<argsLen].split(separator: 0, omittingEmptySubsequences: false)
                if args.last?.isEmpty == true { args.removeLast() } // the final NUL
                arguments = args.map { String(decoding: $0, as: UTF8.self) }
            }
        }
        return ProcessEvent(kind: kind, pid: Int32(bitPattern: e.pid), ppid: Int32(bitPattern: e.ppid),
                            timeNs: e.time_ns, comm: comm, arguments: arguments,
                            argumentsTruncated: argsLen == Int(SWOFFCPU_ARGS_LEN),
                            exitStatus: Int32(bitPattern: e.exit_code))
    }
}

/// The `proc_events` ring buffer, drained into a list by `consume`.
final class ProcessEventRing {
    private var ring: OpaquePointer?
    private let sink = Sink()

    private final class Sink {
        var events: [ProcessEvent] = []
    }

    init(fd: Int32) throws {
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        ring = ring_buffer__new(fd, { ctx, data, size in
            guard let ctx, let data else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(ctx).takeUnretainedValue()
            if let event = ProcessEvent.decode(UnsafeRawBufferPointer(start: data, count: size)) {
                sink.events.append(event)
            }
            return 0
        }, ctx, nil)
        if ring == nil { throw BPFError("creating the process-event ring buffer", errno: errno) }
    }

    deinit {
        if let ring { ring_buffer__free(ring) }
    }

    /// The events that arrived since the last call.
    func consume() -> [ProcessEvent] {
        if let ring { ring_buffer__consume(ring) }
        defer { sink.events.removeAll(keepingCapacity: true) }
        return sink.events
    }
}
