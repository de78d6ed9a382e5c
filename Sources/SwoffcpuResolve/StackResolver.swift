import SwoffcpuCore
import SwoffcpuSymbolizer
import SwoffcpuSystem

/// Turns the kernel's stack ids into named frames: attribution (exact shares of the
/// state totals) then symbolization, with the snapshots taken while the targets lived.
public struct StackResolver: Sendable {
    let symbolizer: Symbolizer
    /// Per process: the snapshot taken at the start, replaced at the end if it still lived.
    public internal(set) var processes: [Int32: ProcessSymbols] = [:]
    var kernel: KernelSymbols?
    /// What could not be read (kernel symbols, a process gone before its snapshot), one line each.
    public internal(set) var problems: [String] = []
    /// Frames dropped from user stacks: addresses in non-executable mappings (see `resolveUser`).
    let junkFrames = FrameCount()
    public var droppedDataFrames: Int { junkFrames.value }
    /// The code objects of traced Python processes, by pid (PythonFrames.swift).
    public var python: [Int32: PythonCode] = [:]
    /// Keep each frame's address and mapping (`SymbolizedStacks.sites`): only pprof reads them,
    /// and finding a frame's mapping costs about a third of symbolization with 100,000 stacks.
    public var recordSites = true

    public init() {
        symbolizer = Symbolizer()
        do { kernel = try symbolizer.kernel() } catch { problems.append("kernel symbols: \(error)") }
    }

    /// Processes that exec'ed and were gone before their snapshot (their frames stay unnamed).
    public internal(set) var vanishedAfterExec = 0

    /// Snapshots of a process taken before it exec'ed another image, newest first: its stacks
    /// from before the exec are named with them (`snapshot(pid:afterExec:)`).
    public internal(set) var earlierImages: [Int32: [ProcessSymbols]] = [:]

    /// Takes what symbolization needs from a live process (maps, ELF symbols). `afterExec`:
    /// the process exec'ed since its last snapshot, which is kept for the stacks walked before.
    public mutating func snapshot(pid: Int32, afterExec: Bool = false) {
        let previous = processes[pid]
        do { processes[pid] = try symbolizer.snapshotProcess(pid: pid) } catch {
            if case SymbolizerError.processNotFound = error, afterExec {
                vanishedAfterExec += 1 // a short-lived process, gone before its look: counted, one line
            } else if processes[pid] == nil {
                problems.append("process \(pid): \(error)")
            }
            return
        }
        if afterExec, let previous { earlierImages[pid, default: []].insert(previous, at: 0) }
    }

    /// Every snapshot, by pid: each process's current image, then its earlier ones.
    private var allSnapshots: [ProcessSymbols] {
        processes.keys.sorted().flatMap { [processes[$0]!] + (earlierImages[$0] ?? []) }
    }

    /// Every module of every snapshot (current and earlier images), once per (pid, path).
    public var modules: [ResolvedTrace.Module] {
        var out: [ResolvedTrace.Module] = []
        var seen = Set<String>()
        for snap in allSnapshots {
            let stripped = Set(snap.strippedModules.map(\.path))
            for m in snap.modules where seen.insert("\(snap.pid) \(m.path)").inserted {
                out.append(.init(pid: snap.pid, path: m.path, buildID: m.buildID, debugFile: m.debugFile,
                                 stripped: stripped.contains(m.path)))
            }
        }
        return out
    }

    /// What the user should know about this run's names, one line each: files of the traced
    /// processes that could not be read or were not used (a refused perf map…), debuginfod
    /// failures, and the stripped modules whose frames in `stacks` stayed unnamed, with how to
    /// get their symbols (the Debian `-dbgsym` package of the package that owns the file, or a
    /// debuginfod server). Paths are the traced program's: sanitize before printing them.
    public func symbolizationNotes(_ stacks: SymbolizedStacks) -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        let snapshots = allSnapshots
        for snap in snapshots {
            for p in snap.problems where seen.insert(p).inserted { out.append("symbols of pid \(snap.pid): \(p)") }
        }
        if let debuginfod = symbolizer.debuginfod { out += debuginfod.notes }
        // Stripped modules with unnamed frames (`module+0x…`) in the stacks, by how many.
        var stripped: [String: (path: String, buildID: String?)] = [:]
        for snap in snapshots {
            for m in snap.strippedModules where stripped[m.module] == nil { stripped[m.module] = (m.path, m.buildID) }
        }
        guard !stripped.isEmpty else { return out }
        var unnamed: [String: Int] = [:]
        for name in stacks.table.names {
            guard let plus = name.range(of: "+0x", options: .backwards) else { continue }
            let module = String(name[..<plus.lowerBound])
            if stripped[module] != nil { unnamed[module, default: 0] += 1 }
        }
        let modules = unnamed.keys.sorted { (unnamed[$0]!, $1) > (unnamed[$1]!, $0) }
        let owners = Packages.debianOwners(of: modules.map { stripped[$0]!.path })
        for module in modules {
            let (path, buildID) = stripped[module]!
            let n = unnamed[module]!
            var line = "\(n) frame\(n == 1 ? "" : "s") of \(module) unnamed: \(path) is stripped and no debug file was found"
            if let buildID { line += " (build-id \(buildID))" }
            var how: [String] = []
            if let pkg = owners[path] { how.append("install \(pkg)-dbgsym (its package is \(pkg): dpkg -S \(path))") }
            if symbolizer.debuginfod == nil {
                how.append("set DEBUGINFOD_URLS to a debuginfod server (Debian: https://debuginfod.debian.net)")
            } else {
                line += ", not on the debuginfod servers either"
            }
            if owners[path] == nil, let buildID, buildID.count > 2 {
                how.append("put its debug file at /usr/lib/debug/.build-id/\(buildID.prefix(2))/\(buildID.dropFirst(2)).debug")
            }
            if !how.isEmpty { line += ": " + how.joined(separator: ", or ") }
            out.append(line)
        }
        return out
    }

    /// The snapshot a user stack of `tgid` was walked in: the current image's, or, after an
    /// exec, the earlier image's whose executable mappings hold more of its addresses (ASLR
    /// puts the two images at different addresses; a tie keeps the newer).
    func symbols(tgid: Int32, for ips: [UInt64]) -> ProcessSymbols? {
        guard let current = processes[tgid] else { return nil }
        guard let earlier = earlierImages[tgid], !earlier.isEmpty else { return current }
        var best = current, hits = current.executableHits(ips)
        for image in earlier {
            let h = image.executableHits(ips)
            if h > hits { best = image; hits = h }
        }
        return best
    }

    /// Attribution, and symbolization into one table: each distinct user stack of a process
    /// and each distinct kernel stack symbolized once, each address of a process named once.
    public func stacks(_ report: TraceReport) -> SymbolizedStacks {
        guard let data = report.stacks else { return SymbolizedStacks() }
        let threads = report.processes.flatMap(\.threads)
        // The attribution (sorting and splitting 200,000 entries for 100,000 stacks) runs on a
        // second thread while the entries' stacks are symbolized.
        var symbols = Symbolized(data: data)
        let attributed = Concurrently.both({ StackAttribution.attribute(data, threads: threads) }, {
            symbolizeEntries(data, threads: threads, into: &symbols)
        }).0
        var samples: [SymbolizedStacks.Sample] = []
        samples.reserveCapacity(attributed.count)
        for stack in attributed {
            var user = StackTable.empty, kernel = StackTable.empty
            switch stack.source {
            case .notSampled: user = symbols.table.add(names: ["[not sampled]"])
            case .lost: user = symbols.table.add(names: ["[lost: stack map full]"])
            case .stack(let u, let k):
                // Symbolized above, unless the entry's thread was another process's (a tid reused).
                user = symbols.users[UserKey(tgid: stack.tgid, id: u)] ?? symbols.user(u, tgid: stack.tgid, resolver: self)
                kernel = symbols.kernels[k] ?? symbols.kernel(k, resolver: self)
            }
            samples.append(SymbolizedStacks.Sample(state: stack.state, comm: stack.comm, tid: stack.tid,
                                                   userStack: user, kernelStack: kernel, valueNs: stack.ns))
        }
        var out = SymbolizedStacks(table: symbols.table, samples: samples)
        out.sites = symbols.sites
        return out
    }

    /// Symbolizes the user stack of each entry's process and each kernel stack, in a fixed
    /// order (the kernel's map order is not): by process and stack id.
    private func symbolizeEntries(_ data: StackData, threads: [ThreadRecord], into symbols: inout Symbolized) {
        var tgidOf: [Int32: Int32] = [:]
        tgidOf.reserveCapacity(threads.count)
        for t in threads { tgidOf[t.tid] = t.tgid }
        // Sized up front: grown by doubling, rehashing 100,000 keys cost more than inserting them.
        var users = Set<UserKey>(minimumCapacity: data.userFrames.count), kernels = Set<UInt64>()
        for e in data.entries {
            guard let tgid = tgidOf[e.tid] else { continue }
            users.insert(UserKey(tgid: tgid, id: e.userStack))
            kernels.insert(e.kernelStack)
        }
        let keys = users.sorted(by: { ($0.tgid, $0.id) < ($1.tgid, $1.id) })
        symbols.users.reserveCapacity(keys.count)
        // Each stack's addresses (its walk merged with its leaf, junk frames dropped) on two
        // other threads, while this one names them, and gives the table's ids, in this order as
        // each chunk of 1,024 is ready. With 100,000 stacks the addresses take ~260 ms of CPU
        // (mostly cache misses: lookups of the stacks and leaf contexts by id) and the naming
        // ~100 ms; one after the other they were 340 ms of the stop.
        let resolver = self
        if keys.count < 2048 {
            for key in keys { _ = symbols.user(key.id, tgid: key.tgid, resolver: self) }
        } else {
            Concurrently.pipeline(keys.count, threads: 2, chunk: 1024, { i in
                resolver.resolveUser(keys[i].id, tgid: keys[i].tgid, data: data)
            }, consume: { i, r in
                _ = symbols.user(keys[i].id, tgid: keys[i].tgid, resolved: r, resolver: self)
            })
        }
        for id in kernels.sorted() { _ = symbols.kernel(id, resolver: self) }
    }

    private struct UserKey: Hashable {
        var tgid: Int32
        var id: UInt64
    }

    /// The stacks symbolized so far: the table, and the ids of the kernel's stack ids in it.
    /// A user stack id hashes addresses, which mean different code in different processes:
    /// user stacks and addresses per process, kernel stacks globally.
    private struct Symbolized {
        let data: StackData
        var table: StackTable
        var users: [UserKey: Int32] = [:]
        var kernels: [UInt64: Int32] = [:]
        /// By snapshot (an image of a process: a process that exec'ed has two).
        var frameNames: [ObjectIdentifier: FrameNames] = [:]
        /// The addresses of the stacks (pprof).
        var sites = StackSites()

        /// Sized up front: grown by doubling, the old copies would add to the peak memory.
        init(data: StackData) {
            self.data = data
            table = StackTable(reservingCapacity: data.userFrames.count + data.kernelFrames.count,
                               frames: data.userFrames.wordCount + 4 * data.userFrames.count)
        }

        mutating func user(_ id: UInt64, tgid: Int32, resolved: UserStack? = nil, resolver: StackResolver) -> Int32 {
            let stack = resolver.userStack(id, tgid: tgid, data: data, resolved: resolved, table: &table,
                                           names: &frameNames, sites: &sites)
            users[UserKey(tgid: tgid, id: id)] = stack
            return stack
        }

        mutating func kernel(_ id: UInt64, resolver: StackResolver) -> Int32 {
            var ips: [UInt64] = []
            let stack = table.add(names: resolver.kernelFrames(id, data: data, keptAddresses: &ips))
            if resolver.recordSites && !ips.isEmpty { sites.set(stack, sites.kernel(ips)) }
            kernels[id] = stack
            return stack
        }
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
    private enum UserStack: Sendable {
        case names([String])
        /// `tail`: the frame a DWARF unwind that stopped short ends with (root side).
        case addresses([UInt64], ProcessSymbols, tail: String?)
    }

    private func resolveUser(_ id: UInt64, tgid: Int32, data: StackData) -> UserStack {
        if let m = marker(id) { return .names(m) }
        guard var ips = data.userFrames.array(id) else { return .names(["[lost: stack map full]"]) }
        let tail = ips.last.flatMap(Self.truncation)
        if tail != nil {
            ips.removeLast()
            // Unwound in the kernel: whole as far as it goes, no leaf recovery to merge.
            guard let symbols = symbols(tgid: tgid, for: ips) else {
                return .names(ips.map { "[unknown]+0x" + String($0, radix: 16) } + [tail!])
            }
            return .addresses(ips, symbols, tail: tail)
        }
        guard let symbols = symbols(tgid: tgid, for: ips) else {
            return .names(ips.map { "[unknown]+0x" + String($0, radix: 16) })
        }
        // A leaf context without stack bytes is a DWARF-unwound stack's: its registers only.
        if let merged = data.withUserLeaf(id, { ip, sp, bp, stack in
            stack.isEmpty ? ips : symbols.mergedUserStack(ip: ip, sp: sp, bp: bp, stackBytes: stack, fpFrames: ips)
        }) {
            ips = merged
        }
        // A return address never lies in data (heap, a stack, a file's data segment) nor outside
        // every mapping: such frames come from a frame-pointer walk through code without frame
        // pointers, or past the outermost frame. Dropped, counted.
        if ips.count > 1 {
            let kept = [ips[0]] + ips.dropFirst().filter { !symbols.isNeverCode($0) }
            if kept.count != ips.count {
                junkFrames.add(ips.count - kept.count)
                ips = kept
            }
        }
        return .addresses(ips, symbols, tail: nil)
    }

    /// The marker frame a DWARF unwind cut short ends with (bpf/swoffcpu.h,
    /// SWOFFCPU_UNWIND_MARKER + reason), named; nil for any other frame.
    static func truncation(_ ip: UInt64) -> String? {
        let marker: UInt64 = 0xffff_ffff_ffff_ff00
        guard ip > marker, ip < marker + 16 else { return nil }
        let reasons = ["", "no mapping", "no table", "no CFI", "unsupported CFI", "read fault", "too deep", "bad frame"]
        let r = Int(ip - marker)
        return "[truncated: " + (r < reasons.count ? reasons[r] : "unwind stopped") + "]"
    }

    /// Frames of a user stack id of process `tgid`, leaf first (lock stacks).
    func userFrames(_ id: UInt64, tgid: Int32, data: StackData) -> [String] {
        switch resolveUser(id, tgid: tgid, data: data) {
        case .names(let names): names
        case .addresses(let ips, let symbols, let tail):
            withPython(id, tgid: tgid, data: data, symbols.symbolize(ips).map(\.name) + (tail.map { [$0] } ?? []))
        }
    }

    /// Native frame names with the stack's Python frames woven in, if it has some.
    private func withPython(_ id: UInt64, tgid: Int32, data: StackData, _ native: [String]) -> [String] {
        guard let py = data.pythonStacks[id], let code = python[tgid] else { return native }
        return PythonFrames.weave(native: native, python: py, minor: code.target.version.minor, name: code.name)
    }

    /// A user stack id of process `tgid` in `table`, its addresses named through the names
    /// found so far in the same image.
    private func userStack(_ id: UInt64, tgid: Int32, data: StackData, resolved: UserStack?, table: inout StackTable,
                           names allNames: inout [ObjectIdentifier: FrameNames], sites: inout StackSites) -> Int32 {
        switch resolved ?? resolveUser(id, tgid: tgid, data: data) {
        case .names(let frames):
            return table.add(names: frames)
        case .addresses(let ips, let symbols, let tail) where data.pythonStacks[id] != nil && python[tgid] != nil:
            return table.add(names: withPython(id, tgid: tgid, data: data,
                                               symbols.symbolize(ips).map(\.name) + (tail.map { [$0] } ?? [])))
        case .addresses(let ips, let symbols, let tail):
            // Taken out of the dictionary while it grows, so that it is not copied (copy on write).
            let image = ObjectIdentifier(symbols)
            var names = allNames.removeValue(forKey: image) ?? FrameNames()
            defer { allNames[image] = names }
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
            if let tail { frames.append(table.index(of: tail)) }
            let stack = table.add(frames)
            if recordSites { sites.set(stack, sites.user(ips, symbols: symbols)) }
            return stack
        }
    }

    static func isTracepointPlumbing(_ name: String) -> Bool {
        name.hasPrefix("bpf_trace_run") || name.hasPrefix("__bpf_trace_") || name.hasPrefix("__traceiter_")
    }

    /// Frames of a kernel stack id, leaf first (also used for lock stacks).
    func kernelFrames(_ id: UInt64, data: StackData) -> [String] {
        var ips: [UInt64] = []
        return kernelFrames(id, data: data, keptAddresses: &ips)
    }

    /// The same, and the addresses of the frames kept (BPF and tracepoint frames dropped),
    /// leaf first; none for a marker.
    func kernelFrames(_ id: UInt64, data: StackData, keptAddresses: inout [UInt64]) -> [String] {
        keptAddresses = []
        if let m = marker(id) { return m }
        guard let ips = data.kernelFrames.array(id) else { return ["[lost: stack map full]"] }
        guard let kernel else { return ips.map { "[unknown]+0x" + String($0, radix: 16) } }
        var frames = kernel.symbolize(ips).map(\.name)
        // The addresses of the frames symbolize kept: BPF frames are dropped there.
        var kept = ips.filter { !kernel.symbolize($0).isBPF }
        if kept.count != frames.count { kept = [] }
        // A walk at switch-out starts inside the tracepoint's plumbing (bpf_trace_run4,
        // __bpf_trace_*, __traceiter_*): drop it, so the leaf is __schedule.
        if let i = frames.prefix(8).lastIndex(where: Self.isTracepointPlumbing) {
            frames.removeFirst(i + 1)
            if !kept.isEmpty { kept.removeFirst(i + 1) }
            keptAddresses = kept
            return frames
        }
        let entered = Self.withSchedulerEntry(frames)
        // Frames put back have no address of their own: this stack's frames go without addresses.
        keptAddresses = entered.count == frames.count ? kept : []
        return entered
    }

    /// A kernel stack walked without the tracepoint (no plumbing at its leaf) is the stack of a
    /// task found off-CPU at seeding (`bpf_get_task_stack`), whose unwinder starts at the function
    /// that called the scheduler: `futex_do_wait`, where a walk at the switch-out starts at
    /// `__schedule ← schedule ← futex_do_wait`. The scheduler's entry is put back, so that a wait
    /// in progress when the trace started and the same wait walked later are one stack, not two.
    /// preempt_schedule*, rt_mutex_schedule and schedule_rtlock enter `__schedule` themselves.
    static func withSchedulerEntry(_ frames: [String]) -> [String] {
        guard let first = frames.first, !first.hasPrefix("["), first != "__schedule" else { return frames }
        if first == "schedule" || first.hasPrefix("preempt_schedule") || first.hasPrefix("rt_mutex_schedule")
            || first.hasPrefix("schedule_rtlock") {
            return ["__schedule"] + frames
        }
        return ["__schedule", "schedule"] + frames
    }
}
