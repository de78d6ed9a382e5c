import SwoffcpuBPF
import SwoffcpuCore
import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuSystem

/// CPython processes born or exec'ed while tracing (`--follow`, `-- COMMAND`): a -p target is
/// probed once before the trace (TraceRunner), these on the polls after their exec — libpython
/// may be mapped a little after it — for up to two seconds per image; once found, their frames
/// are read as a -p target's are (docs/python.md).
struct PythonFollower {
    let enabled: Bool
    /// pid and image (ProcFS.imageIdentity) → when first probed.
    private var probing: [String: UInt64] = [:]
    private var settled: Set<String> = []
    private var lastPollNs: UInt64 = 0
    private(set) var found = 0
    private var lastPrefetchNs: UInt64 = 0
    private var prefetched: Set<UInt64> = []

    /// Names the code objects of the Python frames walked so far while their processes live
    /// (a -p target or a followed process that exits before the report keeps its names).
    mutating func prefetch(session: TraceSession, resolver: StackResolver?, nowNs: UInt64) {
        guard let resolver, !resolver.python.isEmpty, nowNs - lastPrefetchNs >= 200_000_000 else { return }
        lastPrefetchNs = nowNs
        var fresh: [UInt64] = []
        for stack in session.pythonStacksNow().values {
            for f in stack.frames where prefetched.insert(f.code).inserted { fresh.append(f.code) }
        }
        guard !fresh.isEmpty else { return }
        for (pid, code) in resolver.python where !ProcFS.hasExited(pid) { code.prefetch(fresh) }
    }

    init(enabled: Bool) { self.enabled = enabled }

    mutating func poll(pids: Set<Int32>, session: TraceSession, resolver: inout StackResolver?, nowNs: UInt64) {
        guard enabled, let current = resolver, nowNs - lastPollNs >= 100_000_000 else { return }
        lastPollNs = nowNs
        for pid in pids.sorted() where current.python[pid] == nil {
            guard let image = ProcFS.imageIdentity(of: pid) else { continue }
            let key = "\(pid):\(image)"
            if settled.contains(key) { continue }
            let since = probing[key] ?? nowNs
            probing[key] = since
            let probeStart = Clock.monotonicNs()
            let (targets, notes) = PythonFrames.targets(pids: [pid])
            let probedNs = Clock.monotonicNs() - probeStart
            if let t = targets.first {
                do {
                    try session.addPython(t)
                    resolver?.python[pid] = PythonCode(target: t)
                    found += 1
                    Log.logger.info("pid \(pid): Python \(t.version) (\(t.module)): its frames are read from now on (probed in \(DurationFormat.format(ns: probedNs)), \(DurationFormat.format(ns: Clock.monotonicNs() - since)) after it was first seen)")
                } catch {
                    Log.logger.warning("pid \(pid): \(error): native frames only")
                }
                settled.insert(key)
            } else if !notes.isEmpty || nowNs - since >= 2_000_000_000 {
                for n in notes { Log.logger.warning("\(TerminalText.sanitize(n))") }
                settled.insert(key)
                probing[key] = nil
            }
        }
    }
}
