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

    /// Attribution, then symbolization into one table: each distinct user stack of a process
    /// and each distinct kernel stack symbolized once, each address of a process named once.
    func stacks(_ report: TraceReport) -> SymbolizedStacks {
        guard let data = report.stacks else { return SymbolizedStacks() }
        let attributed = StackAttribution.attribute(data, threads: report.processes.flatMap(\.threads))
        // Sized up front: grown by doubling, the old copies would add to the peak memory.
        var out = SymbolizedStacks(table: StackTable(reservingCapacity: data.userFrames.count + data.kernelFrames.count,
                                                     frames: data.userFrames.wordCount + 4 * data.userFrames.count))
        out.samples.reserveCapacity(attributed.count)
        // A user stack id hashes addresses, which mean different code in different
        // processes: user stacks and addresses per process, kernel stacks globally.
        var userStacks: [Int32: [UInt64: Int32]] = [:]
        var frameNames: [Int32: FrameNames] = [:]
        var kernelStacks: [UInt64: Int32] = [:]
        for stack in attributed {
            var user = StackTable.empty, kernel = StackTable.empty
            switch stack.source {
            case .notSampled: user = out.table.add(names: ["[not sampled]"])
            case .lost: user = out.table.add(names: ["[lost: stack map full]"])
            case .stack(let u, let k):
                if let id = userStacks[stack.tgid]?[u] { user = id } else {
                    user = userStack(u, tgid: stack.tgid, data: data, table: &out.table,
                                     names: &frameNames[stack.tgid, default: FrameNames()])
                    userStacks[stack.tgid, default: [:]][u] = user
                }
                if let id = kernelStacks[k] { kernel = id } else {
                    kernel = out.table.add(names: kernelFrames(k, data: data))
                    kernelStacks[k] = kernel
                }
            }
            out.samples.append(SymbolizedStacks.Sample(state: stack.state, comm: stack.comm, tid: stack.tid,
                                                       userStack: user, kernelStack: kernel, valueNs: stack.ns))
        }
        return out
    }

    /// A process's frame names by address: leaf addresses and return addresses apart, as they
    /// are looked up at different addresses (see `ProcessSymbols.isReturnAddress(at:)`).
    private struct FrameNames {
        var leaf = AddressTable()
        var returns = AddressTable()
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

    /// A user stack id of process `tgid`: its addresses, leaf first, with the frames the
    /// frame-pointer walk missed below the leaf (glibc keeps no frame pointers) recovered
    /// from the leaf context with .eh_frame CFI; or names when there is nothing to symbolize.
    private enum UserStack {
        case names([String])
        case addresses([UInt64], ProcessSymbols)
    }

    private func resolveUser(_ id: UInt64, tgid: Int32, data: StackData) -> UserStack {
        if let m = marker(id) { return .names(m) }
        guard let walked = data.userFrames[id] else { return .names(["[lost: stack map full]"]) }
        var ips = Array(walked)
        guard let symbols = processes[tgid] else {
            return .names(ips.map { "[unknown]+0x" + String($0, radix: 16) })
        }
        if let leaf = data.userLeaf(id) {
            ips = symbols.mergedUserStack(ip: leaf.ip, sp: leaf.sp, bp: leaf.bp, stack: leaf.stack, fpFrames: ips)
        }
        return .addresses(ips, symbols)
    }

    /// Frames of a user stack id of process `tgid`, leaf first (lock stacks).
    func userFrames(_ id: UInt64, tgid: Int32, data: StackData) -> [String] {
        switch resolveUser(id, tgid: tgid, data: data) {
        case .names(let names): names
        case .addresses(let ips, let symbols): symbols.symbolize(ips).map(\.name)
        }
    }

    /// A user stack id of process `tgid` in `table`, its addresses named through `names`.
    private func userStack(_ id: UInt64, tgid: Int32, data: StackData, table: inout StackTable,
                           names: inout FrameNames) -> Int32 {
        switch resolveUser(id, tgid: tgid, data: data) {
        case .names(let frames):
            return table.add(names: frames)
        case .addresses(let ips, let symbols):
            var frames: [Int32] = []
            frames.reserveCapacity(ips.count)
            for (i, ip) in ips.enumerated() {
                let isReturn = symbols.isReturnAddress(at: i)
                if let frame = isReturn ? names.returns[ip] : names.leaf[ip] {
                    frames.append(frame)
                } else {
                    let frame = table.index(of: symbols.symbolize(ip, isReturn: isReturn).name)
                    if isReturn { names.returns[ip] = frame } else { names.leaf[ip] = frame }
                    frames.append(frame)
                }
            }
            return table.add(frames)
        }
    }

    static func isTracepointPlumbing(_ name: String) -> Bool {
        name.hasPrefix("bpf_trace_run") || name.hasPrefix("__bpf_trace_") || name.hasPrefix("__traceiter_")
    }

    /// Frames of a kernel stack id, leaf first (also used for lock stacks).
    func kernelFrames(_ id: UInt64, data: StackData) -> [String] {
        if let m = marker(id) { return m }
        guard let walked = data.kernelFrames[id] else { return ["[lost: stack map full]"] }
        let ips = Array(walked)
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
