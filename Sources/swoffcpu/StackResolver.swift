import SwoffcpuCore
import SwoffcpuExport
import SwoffcpuSymbolizer

/// Turns the kernel's stack ids into named frames: attribution (exact shares of the
/// state totals) then symbolization, with the snapshots taken while the targets lived.
struct StackResolver {
    let symbolizer: Symbolizer
    /// Per process: the snapshot taken at the start, replaced at the end if it still lived.
    var processes: [Int32: ProcessSymbols] = [:]
    var kernel: KernelSymbols?
    var problems: [String] = []

    init() {
        symbolizer = Symbolizer()
        do { kernel = try symbolizer.kernel() } catch { problems.append("kernel symbols: \(error)") }
    }

    /// Takes what symbolization needs from a live process (maps, ELF symbols).
    mutating func snapshot(pid: Int32) {
        do { processes[pid] = try symbolizer.snapshotProcess(pid: pid) } catch {
            if processes[pid] == nil { problems.append("process \(pid): \(error)") }
        }
    }

    func samples(_ report: TraceReport) -> [StackSample] {
        guard let data = report.stacks else { return [] }
        let threads = report.processes.flatMap(\.threads)
        // A user stack id hashes addresses, which mean different code in different
        // processes: cache user frames per process, kernel frames globally.
        var userCacheByProcess: [Int32: [UInt64: [String]]] = [:]
        var kernelCache: [UInt64: [String]] = [:]
        var out: [StackSample] = []
        for stack in StackAttribution.attribute(data, threads: threads) {
            var user: [String] = [], kern: [String] = []
            switch stack.source {
            case .notSampled: user = ["[not sampled]"]
            case .lost: user = ["[lost: stack map full]"]
            case .stack(let u, let k):
                if let cached = userCacheByProcess[stack.tgid]?[u] { user = cached } else {
                    user = userFrames(u, tgid: stack.tgid, data: data)
                    userCacheByProcess[stack.tgid, default: [:]][u] = user
                }
                if let cached = kernelCache[k] { kern = cached } else {
                    kern = kernelFrames(k, data: data)
                    kernelCache[k] = kern
                }
            }
            out.append(StackSample(state: stack.state, comm: stack.comm, tid: stack.tid,
                                   userFrames: user, kernelFrames: kern, valueNs: stack.ns))
        }
        return out
    }

    private func marker(_ id: UInt64) -> [String]? {
        switch StackData.Marker(rawValue: id) {
        case .none?: []
        case .walkFailed?: ["[stack walk failed]"]
        case .mapFull?: ["[lost: stack map full]"]
        case .beforeTrace?: ["[user stack: waiting since before the trace]"]
        case .notStored?: ["[lost: stack not stored]"]
        case nil: nil
        }
    }

    /// Frames of a user stack id of process `tgid`, leaf first (also used for lock stacks).
    func userFrames(_ id: UInt64, tgid: Int32, data: StackData) -> [String] {
        if let m = marker(id) { return m }
        guard var ips = data.userFrames[id] else { return ["[lost: stack map full]"] }
        guard let symbols = processes[tgid] else {
            return ips.map { "[unknown]+0x" + String($0, radix: 16) }
        }
        // Frames the frame-pointer walk missed below the leaf (glibc keeps no frame pointers),
        // recovered from the leaf context with .eh_frame CFI.
        if let leaf = data.userLeaves[id] {
            ips = symbols.mergedUserStack(ip: leaf.ip, sp: leaf.sp, bp: leaf.bp, stack: leaf.stack, fpFrames: ips)
        }
        return symbols.symbolize(ips).map(\.name)
    }

    static func isTracepointPlumbing(_ name: String) -> Bool {
        name.hasPrefix("bpf_trace_run") || name.hasPrefix("__bpf_trace_") || name.hasPrefix("__traceiter_")
    }

    /// Frames of a kernel stack id, leaf first (also used for lock stacks).
    func kernelFrames(_ id: UInt64, data: StackData) -> [String] {
        if let m = marker(id) { return m }
        guard let ips = data.kernelFrames[id] else { return ["[lost: stack map full]"] }
        guard let kernel else { return ips.map { "[unknown]+0x" + String($0, radix: 16) } }
        var frames = kernel.symbolize(ips).map(\.name)
        // A walk at switch-out starts inside the tracepoint's plumbing (bpf_trace_run4,
        // __bpf_trace_*, __traceiter_*): drop it, so the leaf is __schedule.
        if let i = frames.prefix(8).lastIndex(where: Self.isTracepointPlumbing) {
            frames.removeFirst(i + 1)
        }
        return frames
    }
}
