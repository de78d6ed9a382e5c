import CLibBPF
import CSwoffcpuShims
import Glibc

/// How user stacks are unwound (bpf/unwind.bpf.h, docs/unwinding.md).
public enum UnwindMode: String, Sendable, CaseIterable {
    /// Frame pointers only (bpf_get_stack), frames near the leaf recovered in user space.
    case fp
    /// The .eh_frame tables for every frame.
    case dwarf
    /// The tables, with the frame-pointer step for callers in modules built with frame pointers.
    case auto

    var kernelValue: UInt32 {
        switch self {
        case .fp: UInt32(SWOFFCPU_UNWIND_FP)
        case .dwarf: UInt32(SWOFFCPU_UNWIND_DWARF)
        case .auto: UInt32(SWOFFCPU_UNWIND_AUTO)
        }
    }
}

/// One executable mapping as the kernel side takes it (`swoffcpu_unwind_mapping`).
public struct UnwindMappingEntry: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    public var bias: UInt64
    public var tableStart: UInt32
    public var tableLength: UInt32
    public var framePointers: Bool

    public init(start: UInt64, end: UInt64, bias: UInt64, tableStart: UInt32, tableLength: UInt32, framePointers: Bool) {
        self.start = start
        self.end = end
        self.bias = bias
        self.tableStart = tableStart
        self.tableLength = tableLength
        self.framePointers = framePointers
    }
}

/// The unwind tables to load with the programs: the mode, every module's rows (packed
/// `swoffcpu_unwind_row`s) and each process's mappings.
public struct UnwindSetup: Sendable {
    public var mode: UnwindMode
    public var rows: [UInt64]
    public var processes: [Int32: [UnwindMappingEntry]]
    /// Rows the kernel's array holds: the rows given plus room for libraries loaded later.
    public var rowCapacity: UInt32

    public init(mode: UnwindMode, rows: [UInt64], processes: [Int32: [UnwindMappingEntry]], rowCapacity: UInt32) {
        self.mode = mode
        self.rows = rows
        self.processes = processes
        self.rowCapacity = rowCapacity
    }

    /// Executable mappings a process's list holds in the kernel (the rest are left out).
    public static let maxMappings = Int(SWOFFCPU_UNWIND_MAX_MAPPINGS)

    /// Room kept for tables built during the trace (dlopen'ed libraries): 1 Mi rows (8 MiB).
    public static let headroomRows = 1 << 20
}

/// What the DWARF unwinder counted (`unwind_counters`), for the report.
public struct UnwindCounts: Sendable, Equatable {
    public var walks: UInt64 = 0
    public var frames: UInt64 = 0
    /// Walks of processes without tables (frame pointers instead).
    public var fpFallbacks: UInt64 = 0
    /// By reason the unwind stopped (SWOFFCPU_UNWIND_*): [0] whole, then the truncations.
    public var stops: [UInt64] = []

    public var whole: UInt64 { stops.first ?? 0 }
    public var truncated: UInt64 { stops.dropFirst().reduce(0, +) }

    /// Names of the reasons, indexed like `stops`.
    public static let reasons = ["whole", "no mapping", "no table", "no CFI", "unsupported CFI", "read fault",
                                 "too deep", "bad frame"]
}

/// The unwinder's maps in a loaded skeleton.
struct UnwindMaps {
    let skel: OpaquePointer
    private(set) var rows: UnsafeMutablePointer<swoffcpu_unwind_row>?
    private(set) var capacity: UInt32 = 0
    /// Rows written so far (tables appended after them by `append`).
    private(set) var used: UInt32 = 0

    init(skel: OpaquePointer) {
        self.skel = skel
    }

    mutating func map() throws {
        var n: UInt32 = 0
        guard let p = swoffcpu_unwind_rows_mmap(skel, &n) else { throw BPFError("mapping the unwind tables", errno: errno) }
        rows = p
        capacity = n
    }

    /// Appends packed rows; the index of the first, or nil when they do not fit.
    mutating func append(_ packed: [UInt64]) -> UInt32? {
        guard let rows, UInt64(used) + UInt64(packed.count) <= UInt64(capacity) else { return nil }
        let start = used
        packed.withUnsafeBytes { src in
            UnsafeMutableRawPointer(rows + Int(start)).copyMemory(from: src.baseAddress!, byteCount: src.count)
        }
        used += UInt32(packed.count)
        return start
    }

    /// Sets a process's mappings (sorted by start; at most SWOFFCPU_UNWIND_MAX_MAPPINGS kept).
    func setProcess(_ tgid: Int32, _ mappings: [UnwindMappingEntry], generation: UInt32) throws {
        var proc = swoffcpu_unwind_proc()
        let sorted = mappings.sorted { $0.start < $1.start }.prefix(Int(SWOFFCPU_UNWIND_MAX_MAPPINGS))
        proc.n = UInt32(sorted.count)
        proc.generation = generation
        withUnsafeMutableBytes(of: &proc.m) { raw in
            let m = raw.bindMemory(to: swoffcpu_unwind_mapping.self)
            for (i, e) in sorted.enumerated() {
                m[i] = swoffcpu_unwind_mapping(start: e.start, end: e.end, bias: e.bias, table_start: e.tableStart,
                                               table_len: e.tableLength,
                                               flags: e.framePointers ? UInt32(SWOFFCPU_UNWIND_F_FP) : 0, pad: 0)
            }
        }
        var key = UInt32(bitPattern: tgid)
        let fd = swoffcpu_unwind_map_fd(skel, SWOFFCPU_UNWIND_MAP_PROCS)
        if bpf_map_update_elem(fd, &key, &proc, UInt64(BPF_ANY)) != 0 {
            throw BPFError("setting the unwind mappings of process \(tgid)", errno: errno)
        }
    }

    func counts() -> UnwindCounts {
        func read(_ i: Int32) -> UInt64 {
            var v: UInt64 = 0
            _ = swoffcpu_read_unwind_counter(skel, UInt32(i), &v)
            return v
        }
        var c = UnwindCounts()
        c.stops = (0..<Int32(SWOFFCPU_UNWIND_NREASONS)).map(read)
        c.walks = read(SWOFFCPU_UNWIND_CTR_WALKS)
        c.frames = read(SWOFFCPU_UNWIND_CTR_FRAMES)
        c.fpFallbacks = read(SWOFFCPU_UNWIND_CTR_FP_FALLBACK)
        return c
    }

    func unmap() {
        if let rows { swoffcpu_unwind_rows_munmap(rows, capacity) }
    }
}
