import CLibBPF
import CSwoffcpuShims
import Glibc
import SwoffcpuCore

/// The loader's side of Python frames (bpf/python.bpf.h): each Python process's interpreter
/// and offsets into `py_procs` before attaching; the frame chains out of `py_stacks` at the end.
enum PythonMaps {
    /// The kernel side's entry for one interpreter.
    static func entry(_ t: PythonTarget) -> swoffcpu_py_proc {
        let l = t.layout
        var e = swoffcpu_py_proc()
        e.runtime = t.runtime
        e.gil_start = t.gilRange.lowerBound
        e.gil_end = t.gilRange.upperBound
        e.version = t.version.hex
        e.kind = t.version.frameKind
        e.runtime_interpreters_head = l.runtimeInterpretersHead
        e.interp_threads_head = l.interpThreadsHead
        e.tstate_next = l.tstateNext
        e.tstate_thread_id = l.tstateThreadId
        e.tstate_frame = l.tstateFrame
        e.cframe_current_frame = l.cframeCurrentFrame
        e.frame_previous = l.framePrevious
        e.frame_code = l.frameCode
        e.frame_instr = l.frameInstr
        e.frame_owner = l.frameOwner
        e.owner_cstack = l.ownerCstack
        return e
    }

    static func configure(fd: Int32, targets: [PythonTarget]) throws {
        for t in targets {
            var key = UInt32(bitPattern: t.pid)
            var value = entry(t)
            if bpf_map_update_elem(fd, &key, &value, UInt64(BPF_ANY)) != 0 {
                throw BPFError("configuring Python frames of pid \(t.pid)", errno: errno)
            }
        }
    }

    static func readStacks(fd: Int32) throws -> [UInt64: PythonRawStack] {
        var out: [UInt64: PythonRawStack] = [:]
        let size = MemoryLayout<swoffcpu_py_stack>.size
        try MapDump.read(fd: fd, keySize: 8, valueSize: size) { keys, values, n in
            for i in 0..<n {
                let id = keys.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                let base = i * size
                let count = min(Int(values.loadUnaligned(fromByteOffset: base, as: UInt32.self)), Int(SWOFFCPU_PY_MAX_FRAMES))
                let flags = values.loadUnaligned(fromByteOffset: base + 4, as: UInt32.self)
                var frames: [PythonRawFrame] = []
                frames.reserveCapacity(count)
                for f in 0..<count {
                    let o = base + 8 + f * 16
                    let code = values.loadUnaligned(fromByteOffset: o, as: UInt64.self)
                    let instr = values.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)
                    frames.append(PythonRawFrame(code: code & ~UInt64(SWOFFCPU_PY_ENTRY), instr: instr,
                                                 isEntry: code & UInt64(SWOFFCPU_PY_ENTRY) != 0))
                }
                out[id] = PythonRawStack(frames: frames, gilWait: flags & UInt32(SWOFFCPU_PY_GIL) != 0,
                                         truncated: flags & UInt32(SWOFFCPU_PY_TRUNCATED) != 0)
            }
        }
        return out
    }

    /// A per-CPU counter of `py_counters`, summed.
    static func counter(fd: Int32, _ idx: Int32) -> UInt64 {
        let ncpus = Int(libbpf_num_possible_cpus())
        guard ncpus > 0 else { return 0 }
        var vals = [UInt64](repeating: 0, count: ncpus)
        var key = UInt32(idx)
        guard bpf_map_lookup_elem(fd, &key, &vals) == 0 else { return 0 }
        return vals.reduce(0, &+)
    }
}

/// What the kernel side counted of Python frame walks.
public struct PythonWalkCounts: Sendable, Equatable {
    public var walks: UInt64
    public var noThreadState: UInt64
    public var notStored: UInt64
    public var noFrame: UInt64
}
